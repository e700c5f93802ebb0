package identity

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/oauth2"

	"github.com/chatops-dev/chatops/bot/retry"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/store"
)

const (
	// refreshTimeout bounds a refresh's exchange with GitLab and the save
	// of the new pair, which outlive the command that asked.
	refreshTimeout = 30 * time.Second
	// saveAttempts is how many times a refreshed pair's save is tried.
	saveAttempts = 4
	// rotationWait is how long a refresh GitLab refused waits for another
	// replica, whose refresh GitLab answered first, to save its pair
	// before the link is taken for broken; rotationPoll is how often the
	// link is re-read meanwhile.
	rotationWait = 5 * time.Second
	rotationPoll = 250 * time.Millisecond
)

// seal encrypts a token bound to the identity it belongs to.
func (p *Plugin) seal(identity, token string) ([]byte, error) {
	if token == "" {
		return nil, nil
	}
	return p.opts.Sealer.Seal([]byte(token), []byte(identity))
}

// open decrypts a token sealed for identity.
func (p *Plugin) open(identity string, sealed []byte) (string, error) {
	if len(sealed) == 0 {
		return "", nil
	}
	b, err := p.opts.Sealer.Open(sealed, []byte(identity))
	if err != nil {
		return "", fmt.Errorf("identity: opening the stored token of %s (was [store] secret_key changed?): %w", identity, err)
	}
	return string(b), nil
}

// sealed returns the link of identity to the GitLab user with tok sealed.
func (p *Plugin) sealed(identity string, userID int64, username string, tok *oauth2.Token, linked time.Time) (*store.Identity, error) {
	access, err := p.seal(identity, tok.AccessToken)
	if err != nil {
		return nil, err
	}
	refresh, err := p.seal(identity, tok.RefreshToken)
	if err != nil {
		return nil, err
	}
	return &store.Identity{Chat: identity, GitLabUserID: userID, GitLabUsername: username,
		AccessToken: access, RefreshToken: refresh, ExpiresAt: tok.Expiry, LinkedAt: linked}, nil
}

// save records a link with tok sealed.
func (p *Plugin) save(ctx context.Context, identity string, userID int64, username string, tok *oauth2.Token, linked time.Time) error {
	id, err := p.sealed(identity, userID, username, tok, linked)
	if err != nil {
		return err
	}
	return p.opts.Store.SaveIdentity(ctx, id)
}

// Actor returns who identity acts as in GitLab: the linked user with a
// live access token (refreshed first when it expires within
// RefreshBefore, and the new pair saved), or, with no link or linking
// off, the zero Actor naming only the identity (act_as then decides).
func (p *Plugin) Actor(ctx context.Context, identity string) (gitlab.Actor, error) {
	unlinked := gitlab.Actor{Identity: identity}
	if p == nil || p.oauth == nil {
		return unlinked, nil
	}
	id, err := p.opts.Store.GetIdentity(ctx, identity)
	if errors.Is(err, store.ErrNotFound) {
		return unlinked, nil
	}
	if err != nil {
		return unlinked, err
	}
	if !id.ExpiresAt.IsZero() && time.Until(id.ExpiresAt) < p.opts.RefreshBefore {
		if id, err = p.refresh(ctx, identity); errors.Is(err, store.ErrNotFound) {
			return unlinked, nil // unlinked meanwhile
		} else if err != nil {
			return unlinked, err
		}
	}
	access, err := p.open(identity, id.AccessToken)
	if err != nil {
		return unlinked, err
	}
	return gitlab.Actor{Token: access, UserID: id.GitLabUserID, Username: id.GitLabUsername, Identity: identity}, nil
}

// refresh trades the stored refresh token for a new pair and saves it.
// It re-reads the link under the identity's lock, so a refresh another
// command did meanwhile is used rather than repeated (GitLab rotates
// refresh tokens: the old one no longer works).
func (p *Plugin) refresh(ctx context.Context, identity string) (*store.Identity, error) {
	mu := p.refreshLock(identity)
	mu.Lock()
	defer mu.Unlock()
	id, err := p.opts.Store.GetIdentity(ctx, identity)
	if err != nil {
		return nil, err
	}
	if id.ExpiresAt.IsZero() || time.Until(id.ExpiresAt) >= p.opts.RefreshBefore {
		return id, nil
	}
	rt, err := p.open(identity, id.RefreshToken)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err // the command is over: leave the token unspent
	}
	// Once GitLab rotated the pair the old refresh token is spent, and a
	// new pair not saved loses the link: the exchange and the save run to
	// their end, bounded, whatever becomes of the command that asked (as
	// complete does for a granted link).
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
	defer cancel()
	// Without an access token the source goes straight to the refresh.
	tok, err := p.oauth.TokenSource(p.oauthContext(rctx), &oauth2.Token{RefreshToken: rt}).Token()
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && (re.ErrorCode == "invalid_grant" || re.Response.StatusCode == 401) {
		return p.refused(ctx, id, err)
	}
	if err != nil {
		return nil, fmt.Errorf("identity: refreshing the GitLab token of %s: %s", identity, describe(err))
	}
	if tok.RefreshToken == "" {
		tok.RefreshToken = rt // the server kept the refresh token
	}
	return p.saveRefreshed(rctx, id, tok)
}

// refused handles GitLab refusing the refresh token id was read with.
// Another replica sharing the store may have refreshed first, the
// rotation spending this token: its new pair is the link's and still
// good, but it may not be saved yet, so the link is re-read for up to
// rotationWait before it is given up. Then it is deleted only if it
// still holds the refused token, so a pair saved at the last moment is
// kept and used.
func (p *Plugin) refused(ctx context.Context, id *store.Identity, cause error) (*store.Identity, error) {
	deadline := time.Now().Add(rotationWait)
	for {
		now, err := p.opts.Store.GetIdentity(ctx, id.Chat)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil, err // unlinked meanwhile
		case err == nil && !bytes.Equal(now.RefreshToken, id.RefreshToken):
			return now, nil
		}
		if time.Now().After(deadline) {
			break
		}
		if !retry.Sleep(ctx, rotationPoll) {
			return nil, ctx.Err()
		}
	}
	deleted, err := p.opts.Store.DeleteIdentityIf(ctx, id.Chat, id.RefreshToken)
	if err != nil {
		return nil, err
	}
	if !deleted {
		return p.opts.Store.GetIdentity(ctx, id.Chat) // refreshed, relinked or unlinked just now
	}
	p.opts.Logger.Warn("GitLab refused a linked user's refresh token; link deleted", "identity", id.Chat, "gitlab_user", id.GitLabUsername, "reason", describe(cause))
	return nil, errLinkBroken
}

// saveRefreshed saves tok, the pair GitLab issued for the link id, only
// over a link that still holds the refresh token id was read with: a save
// over a link deleted meanwhile (`unlink` by another replica, which does
// not share this one's lock) would bring it back, with live tokens the
// user was told were revoked. A link gone or replaced has tok revoked, as
// nobody holds it any more; the link stored now, if any, is returned.
func (p *Plugin) saveRefreshed(ctx context.Context, id *store.Identity, tok *oauth2.Token) (*store.Identity, error) {
	next, err := p.sealed(id.Chat, id.GitLabUserID, id.GitLabUsername, tok, id.LinkedAt)
	if err != nil {
		return nil, err
	}
	// The store's bad moment must not lose the pair (the old refresh
	// token is spent): the save is retried, a few times.
	backoff := retry.Backoff{Min: 250 * time.Millisecond, Max: 2 * time.Second}
	var saved bool
	for attempt := 0; ; attempt++ {
		if saved, err = p.opts.Store.SaveIdentityIf(ctx, next, id.RefreshToken); err == nil {
			break
		}
		if attempt+1 >= saveAttempts || !retry.Sleep(ctx, backoff.Wait(attempt)) {
			p.opts.Logger.Error("could not save a linked user's refreshed GitLab token; the link will stop working",
				"identity", id.Chat, "gitlab_user", id.GitLabUsername, "attempts", attempt+1, "err", err)
			return nil, err
		}
		p.opts.Logger.Warn("could not save a linked user's refreshed GitLab token; retrying", "identity", id.Chat, "err", err)
	}
	if saved {
		p.opts.Logger.Info("linked user's GitLab token refreshed", "identity", id.Chat, "gitlab_user", id.GitLabUsername)
		return next, nil
	}
	// An attempt reported failed may have been stored all the same (the
	// connection lost after the commit): the pair stored is then ours.
	if now, err := p.opts.Store.GetIdentity(ctx, id.Chat); err == nil && bytes.Equal(now.RefreshToken, next.RefreshToken) {
		return now, nil
	}
	p.opts.Logger.Info("link unlinked or replaced while its token was refreshed; revoking the new pair", "identity", id.Chat, "gitlab_user", id.GitLabUsername)
	p.revokeTokens(ctx, id.Chat, tok.RefreshToken, tok.AccessToken)
	return p.opts.Store.GetIdentity(ctx, id.Chat)
}

// revokeTokens revokes tokens best-effort: they belong to no stored link
// (a pair replaced by a relink, or issued for a link deleted meanwhile),
// so they must not stay live in GitLab; a failure is only logged, as
// nobody can use them from chat any more.
func (p *Plugin) revokeTokens(ctx context.Context, identity string, tokens ...string) {
	for _, tok := range tokens {
		if tok == "" {
			continue
		}
		if err := p.revoke(ctx, tok); err != nil {
			p.opts.Logger.Warn("could not revoke a GitLab token no link holds any more", "identity", identity, "err", err)
		}
	}
}

// deviceCodeData binds a sealed device code to its identity, and keeps it
// apart from sealed tokens: neither opens as the other.
func deviceCodeData(identity string) []byte { return []byte("device-code:" + identity) }

// sealDeviceCode encrypts a pending link's device code: with it, anyone
// could complete the link as the user approves it.
func (p *Plugin) sealDeviceCode(identity, code string) ([]byte, error) {
	return p.opts.Sealer.Seal([]byte(code), deviceCodeData(identity))
}

// openDeviceCode decrypts a device code sealed for identity.
func (p *Plugin) openDeviceCode(identity string, sealed []byte) (string, error) {
	b, err := p.opts.Sealer.Open(sealed, deviceCodeData(identity))
	if err != nil {
		return "", fmt.Errorf("identity: opening the stored device code of %s (was [store] secret_key changed?): %w", identity, err)
	}
	return string(b), nil
}
