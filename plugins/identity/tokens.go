package identity

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/oauth2"

	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/store"
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

// save records a link with tok sealed.
func (p *Plugin) save(ctx context.Context, identity string, userID int64, username string, tok *oauth2.Token, linked time.Time) error {
	access, err := p.seal(identity, tok.AccessToken)
	if err != nil {
		return err
	}
	refresh, err := p.seal(identity, tok.RefreshToken)
	if err != nil {
		return err
	}
	return p.opts.Store.SaveIdentity(ctx, &store.Identity{Chat: identity, GitLabUserID: userID, GitLabUsername: username,
		AccessToken: access, RefreshToken: refresh, ExpiresAt: tok.Expiry, LinkedAt: linked})
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
		if id, err = p.refresh(ctx, identity); err != nil {
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
	// Without an access token the source goes straight to the refresh.
	tok, err := p.oauth.TokenSource(p.oauthContext(ctx), &oauth2.Token{RefreshToken: rt}).Token()
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && (re.ErrorCode == "invalid_grant" || re.Response.StatusCode == 401) {
		// Another replica sharing the store may have refreshed first: the
		// rotation then spent the token this one used. Its new pair is
		// the link's, and still good.
		if now, gerr := p.opts.Store.GetIdentity(ctx, identity); gerr == nil && !bytes.Equal(now.RefreshToken, id.RefreshToken) {
			return now, nil
		}
		p.opts.Logger.Warn("GitLab refused a linked user's refresh token; link deleted", "identity", identity, "gitlab_user", id.GitLabUsername, "reason", describe(err))
		if derr := p.opts.Store.DeleteIdentity(ctx, identity); derr != nil {
			return nil, derr
		}
		return nil, errLinkBroken
	}
	if err != nil {
		return nil, fmt.Errorf("identity: refreshing the GitLab token of %s: %s", identity, describe(err))
	}
	if tok.RefreshToken == "" {
		tok.RefreshToken = rt // the server kept the refresh token
	}
	if err := p.save(ctx, identity, id.GitLabUserID, id.GitLabUsername, tok, id.LinkedAt); err != nil {
		return nil, err
	}
	p.opts.Logger.Info("linked user's GitLab token refreshed", "identity", identity, "gitlab_user", id.GitLabUsername)
	return p.opts.Store.GetIdentity(ctx, identity)
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
