package identity

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/retry"
	"github.com/chatops-dev/chatops/commands"
	"github.com/chatops-dev/chatops/store"
)

// maxWait bounds a flow whose device code came without a lifetime.
const maxWait = 30 * time.Minute

// link starts the device flow for the caller and returns once GitLab's
// verification link is posted: the wait for the approval holds no worker
// (see pending.go). The link goes only into a direct conversation: posted
// in a channel, someone else could open it first (they would link the
// caller's chat account to their own GitLab user). Asked in a channel,
// the bot opens a direct conversation where the platform can, and asks
// the user to write to it directly where it cannot.
//
// The flow is stored before its link is posted (record before acting),
// and the store allows one unexpired flow per identity, so two `link`s by
// one user, on any replicas, start one flow.
func (p *Plugin) link(ctx context.Context, w bot.Responder, r *commands.Request) error {
	if p.oauth == nil {
		return &bot.Refusal{Title: "Linking is off", Text: "An operator turns it on with [gitlab] oauth_client_id. Until then, ask a chatops admin to map you under [identities]."}
	}
	m := r.Message
	identity := m.Identity()
	waiting := &bot.Refusal{Title: "A link request is already waiting", Text: "Approve the link I sent you, or wait until it expires."}
	// Checked first so that a refused `link` opens no DM and starts no
	// flow in GitLab; CreatePendingLink decides for good below.
	if err := p.noPendingLink(ctx, identity, waiting); err != nil {
		return err
	}
	id := newLinkID()
	if !p.reserve(id) {
		return &bot.Refusal{Title: "Too many link requests are waiting", Text: "Try `link` again in a few minutes."}
	}
	// Until handed over, the stored flow (if any) is deleted on giving up,
	// before any answer that lets the user try again (askForDirect): a
	// `link` sent right after that answer must not be told one is
	// already waiting.
	var stored *store.PendingLink
	handedOver := false
	giveUp := func() {
		if stored != nil {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if _, err := p.opts.Store.DeletePendingLink(dctx, stored.ID); err != nil {
				bot.Logger(ctx).Warn("could not delete an abandoned pending link; it expires by itself", "err", err)
			}
			stored = nil
		}
		p.unreserve(id)
	}
	defer func() {
		if !handedOver {
			giveUp()
		}
	}()
	log := bot.Logger(ctx)

	dw, err := bot.Direct(ctx, w, m)
	if err != nil {
		log.Info("link asked in a channel: no direct conversation, asking the user to write to the bot", "err", err)
		giveUp()
		return askForDirect(ctx, w)
	}
	da, err := p.oauth.DeviceAuth(p.oauthContext(ctx))
	if err != nil {
		return &bot.Refusal{Title: "GitLab did not start the link", Text: describe(err) + ". Is the GitLab application's device flow enabled?"}
	}
	l, err := p.newPending(m, id, da)
	if err != nil {
		return err
	}
	switch err := p.opts.Store.CreatePendingLink(ctx, l); {
	case errors.Is(err, store.ErrExists):
		return waiting
	case err != nil:
		return err
	}
	stored = l
	sent, err := dw.Reply(ctx, verification(da))
	switch {
	case err != nil && !m.Conversation.Direct && ctx.Err() == nil:
		// Opening a DM can succeed where posting in it fails (a Discord
		// user who takes no DMs from server members).
		log.Info("link asked in a channel: the direct message could not be posted, asking the user to write to the bot", "err", err)
		giveUp()
		return askForDirect(ctx, w)
	case err != nil:
		return err
	}
	if !m.Conversation.Direct {
		if _, err := w.Reply(ctx, bot.Reply{Status: bot.StatusInfo, Title: "Check your direct messages",
			Text: "I sent you a direct message to link your GitLab account."}); err != nil {
			log.Warn("could not say in the channel where the link went", "err", err)
		}
	}
	if to := sent.Conversation; to.ChannelID != "" && to != m.Conversation {
		l.ChannelID, l.ThreadID, l.Direct, l.Handle = to.ChannelID, to.ThreadID, to.Direct, to.Handle
		if err := p.opts.Store.SetPendingLinkTarget(context.WithoutCancel(ctx), l); err != nil {
			// The outcome carries no secret: the asker's conversation,
			// stored already, will do.
			log.Warn("could not store where the link was posted; its outcome goes where link was asked", "err", err)
		}
	}
	p.handOver(l)
	handedOver = true
	return nil
}

// endingWait bounds how long `link` waits for the user's previous flow,
// answered already, to be delivered and deleted: a user who sends `link`
// the moment "Link declined" arrives must not be told one is waiting.
const endingWait = 5 * time.Second

// noPendingLink returns nil when identity has no pending link, waiting
// (bounded) for one whose outcome is being delivered to go; waiting
// when one is still pending.
func (p *Plugin) noPendingLink(ctx context.Context, identity string, waiting *bot.Refusal) error {
	deadline := time.Now().Add(endingWait)
	for {
		l, err := p.opts.Store.GetPendingLink(ctx, identity)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil
		case err != nil:
			return fmt.Errorf("identity: reading the pending link of %s: %w", identity, err)
		case l.Answer == nil || time.Now().After(deadline):
			return waiting
		}
		if !retry.Sleep(ctx, 50*time.Millisecond) {
			return ctx.Err()
		}
	}
}

// newPending is the stored form of the flow da for m's sender, leased to
// this process and answering, until the verification link is posted,
// where link was asked (an adapter that does not say where it posted
// leaves it so: the outcome carries no secret).
func (p *Plugin) newPending(m bot.Message, id string, da *oauth2.DeviceAuthResponse) (*store.PendingLink, error) {
	identity := m.Identity()
	code, err := p.sealDeviceCode(identity, da.DeviceCode)
	if err != nil {
		return nil, err
	}
	expiry := da.Expiry
	if expiry.IsZero() {
		expiry = time.Now().Add(maxWait)
	}
	to := m.Conversation
	return &store.PendingLink{ID: id, Identity: identity, Platform: m.Platform,
		ChannelID: to.ChannelID, ThreadID: to.ThreadID, Direct: to.Direct, Handle: to.Handle,
		DeviceCode: code, Interval: time.Duration(da.Interval) * time.Second, ExpiresAt: expiry,
		Owner: p.opts.Owner, LeaseUntil: time.Now().Add(p.opts.Lease)}, nil
}

// newLinkID names a flow.
func newLinkID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// askForDirect is the answer in a channel where no direct conversation
// could be had.
func askForDirect(ctx context.Context, w bot.Responder) error {
	_, err := w.Reply(ctx, bot.Reply{Status: bot.StatusInfo, Title: "Let's do this privately",
		Text: "The link to approve is personal, so I only send it in a direct message. Send `link` to me there."})
	return err
}

// verification is the reply carrying GitLab's verification link.
func verification(da *oauth2.DeviceAuthResponse) bot.Reply {
	uri := da.VerificationURIComplete
	if uri == "" {
		uri = da.VerificationURI
	}
	text := fmt.Sprintf("Open %s, check that the code is %s, and authorize chatops.", uri, da.UserCode)
	if !da.Expiry.IsZero() {
		text += fmt.Sprintf(" The link works for %s.", time.Until(da.Expiry).Round(time.Minute))
	}
	return bot.Reply{Status: bot.StatusInfo, Title: "Link your GitLab account", Text: text}
}

// gitlabUser is the part of GET /user the link records.
type gitlabUser struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	State    string `json:"state"`
}

// currentUser reads GET /user with the new token: the token says whose
// it is, so the link cannot name another user.
func (p *Plugin) currentUser(ctx context.Context, tok *oauth2.Token) (gitlabUser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(p.opts.GitLabURL, "/")+"/api/v4/user", nil)
	if err != nil {
		return gitlabUser{}, err
	}
	tok.SetAuthHeader(req)
	resp, err := p.opts.HTTPClient.Do(req)
	if err != nil {
		return gitlabUser{}, fmt.Errorf("reading your GitLab user: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return gitlabUser{}, fmt.Errorf("reading your GitLab user: HTTP %d", resp.StatusCode)
	}
	var u gitlabUser
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(&u); err != nil {
		return gitlabUser{}, fmt.Errorf("reading your GitLab user: %w", err)
	}
	if u.ID == 0 || u.Username == "" {
		return gitlabUser{}, errors.New("reading your GitLab user: no id or username in the answer")
	}
	return u, nil
}
