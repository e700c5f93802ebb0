package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/commands"
)

// link starts the device flow for the caller and returns once GitLab's
// verification link is posted: the wait for the approval holds no worker
// (see pending.go). The link goes only into a direct conversation: posted
// in a channel, someone else could open it first (they would link the
// caller's chat account to their own GitLab user). Asked in a channel,
// the bot opens a direct conversation where the platform can, and asks
// the user to write to it directly where it cannot.
func (p *Plugin) link(ctx context.Context, w bot.Responder, r *commands.Request) error {
	if p.oauth == nil {
		return &bot.Refusal{Title: "Linking is off", Text: "An operator turns it on with [gitlab] oauth_client_id. Until then, ask a chatops admin to map you under [identities]."}
	}
	m := r.Message
	identity := m.Identity()
	if !p.begin(identity) {
		return &bot.Refusal{Title: "A link request is already waiting", Text: "Approve the link I sent you, or wait until it expires."}
	}
	// The slot is freed before any answer that lets the user try again
	// (askForDirect), not after it: a `link` sent right after that answer
	// must not be told one is already waiting.
	release := sync.OnceFunc(func() { p.end(identity) })
	handedOver := false
	defer func() {
		if !handedOver {
			release()
		}
	}()
	log := bot.Logger(ctx)

	dw, err := bot.Direct(ctx, w, m)
	if err != nil {
		log.Info("link asked in a channel: no direct conversation, asking the user to write to the bot", "err", err)
		release()
		return askForDirect(ctx, w)
	}
	da, err := p.oauth.DeviceAuth(p.oauthContext(ctx))
	if err != nil {
		return &bot.Refusal{Title: "GitLab did not start the link", Text: describe(err) + ". Is the GitLab application's device flow enabled?"}
	}
	sent, err := dw.Reply(ctx, verification(da))
	switch {
	case err != nil && !m.Conversation.Direct && ctx.Err() == nil:
		// Opening a DM can succeed where posting in it fails (a Discord
		// user who takes no DMs from server members).
		log.Info("link asked in a channel: the direct message could not be posted, asking the user to write to the bot", "err", err)
		release()
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
	to := sent.Conversation
	if to.ChannelID == "" {
		// An adapter that does not say where it posted: the outcome
		// carries no secret, so the asker's conversation will do.
		to = m.Conversation
	}
	if !p.await(pending{identity: identity, platform: m.Platform, to: to, da: da, log: log}) {
		return &bot.Refusal{Title: "chatops is stopping", Text: "Nobody is left to wait for your approval: send `link` again when the bot is back."}
	}
	handedOver = true
	return nil
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
