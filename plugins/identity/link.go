package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/commands"
)

// link runs the device flow for the caller. The verification link goes
// only into a direct conversation: posted in a channel, someone else
// could open it first (they would link the caller's chat account to
// their own GitLab user). The handler waits for the approval, bounded by
// the device code's lifetime.
func (p *Plugin) link(ctx context.Context, w bot.Responder, r *commands.Request) error {
	if p.oauth == nil {
		return &bot.Refusal{Title: "Linking is off", Text: "An operator turns it on with [gitlab] oauth_client_id. Until then, ask a chatops admin to map you under [identities]."}
	}
	m := r.Message
	if !m.Conversation.Direct {
		_, err := w.Reply(ctx, bot.Reply{Status: bot.StatusInfo, Title: "Let's do this privately",
			Text: "The link to approve is personal, so I only send it in a direct message. Send `link` to me there."})
		return err
	}
	identity := m.Identity()
	if !p.begin(identity) {
		return &bot.Refusal{Title: "A link request is already waiting", Text: "Approve the link I sent you, or wait until it expires."}
	}
	defer p.end(identity)

	octx := p.oauthContext(ctx)
	da, err := p.oauth.DeviceAuth(octx)
	if err != nil {
		return &bot.Refusal{Title: "GitLab did not start the link", Text: describe(err) + ". Is the GitLab application's device flow enabled?"}
	}
	uri := da.VerificationURIComplete
	if uri == "" {
		uri = da.VerificationURI
	}
	text := fmt.Sprintf("Open %s, check that the code is %s, and authorize chatops.", uri, da.UserCode)
	if !da.Expiry.IsZero() {
		text += fmt.Sprintf(" The link works for %s.", time.Until(da.Expiry).Round(time.Minute))
	}
	if _, err := w.Reply(ctx, bot.Reply{Status: bot.StatusInfo, Title: "Link your GitLab account", Text: text}); err != nil {
		return err
	}
	tok, err := p.oauth.DeviceAccessToken(octx, da)
	if err != nil {
		return p.flowRefusal(ctx, err)
	}
	u, err := p.currentUser(octx, tok)
	if err != nil {
		return &bot.Refusal{Title: "GitLab did not say who you are", Text: "The link was not recorded: " + err.Error() + ". Try `link` again."}
	}
	if err := p.save(ctx, identity, u.ID, u.Username, tok, time.Now()); err != nil {
		return fmt.Errorf("identity: recording the link of %s: %w", identity, err)
	}
	bot.Logger(ctx).Info("chat identity linked to GitLab", "identity", identity, "gitlab_user", u.Username, "gitlab_user_id", u.ID)
	_, err = w.Reply(ctx, bot.Reply{Status: bot.StatusSuccess, Title: "Linked to GitLab user " + u.Username,
		Text: "Pipelines you start from chat are now created as " + u.Username + ", with your GitLab rights. `unlink` undoes it."})
	return err
}

// flowRefusal tells the user how the device flow ended without a token.
func (p *Plugin) flowRefusal(ctx context.Context, err error) error {
	var re *oauth2.RetrieveError
	code := ""
	if errors.As(err, &re) {
		code = re.ErrorCode
	}
	switch {
	case code == "access_denied":
		return &bot.Refusal{Title: "Link declined", Text: "You declined in GitLab; nothing was linked."}
	case code == "expired_token" || errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		return &bot.Refusal{Title: "The link expired", Text: "It was not approved in time. Send `link` again for a new one."}
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return &bot.Refusal{Title: "GitLab did not complete the link", Text: describe(err) + ". Try `link` again."}
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
