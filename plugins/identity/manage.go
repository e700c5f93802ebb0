package identity

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/commands"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/store"
)

// whoami says who the caller acts as in GitLab, and by which rule.
func (p *Plugin) whoami(ctx context.Context, w bot.Responder, r *commands.Request) error {
	identity := r.Message.Identity()
	reply := bot.Reply{Status: bot.StatusInfo, Fields: []bot.Field{{Name: "Chat identity", Value: identity}}}
	var id *store.Identity
	if p.oauth != nil {
		var err error
		id, err = p.opts.Store.GetIdentity(ctx, identity)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	mapped, isMapped := p.opts.Identities[identity]
	switch {
	case id != nil:
		reply.Title = "You are " + id.GitLabUsername + " on GitLab"
		reply.Text = "Linked by you with `link`; pipelines you start are created as " + id.GitLabUsername + ". `unlink` undoes it."
		reply.Fields = append(reply.Fields, bot.Field{Name: "Linked", Value: id.LinkedAt.Format("2006-01-02 15:04 MST")})
	case isMapped:
		reply.Title = "You are " + mapped + " on GitLab"
		reply.Text = "Mapped by an admin under [identities]. " + p.unlinkedRule(mapped)
	default:
		reply.Title = "You are not linked to a GitLab account"
		if p.oauth != nil {
			reply.Text = "Send `link` to me in a direct message to link yours."
		} else {
			reply.Text = "Ask a chatops admin to map you under [identities]."
		}
	}
	_, err := w.Reply(ctx, reply)
	return err
}

// unlinkedRule says how GitLab sees a mapped but unlinked user's actions.
func (p *Plugin) unlinkedRule(user string) string {
	switch p.opts.ActAs {
	case gitlab.ActAsUser:
		return "Running jobs needs a link of your own here: send `link` in a direct message."
	case gitlab.ActAsSudo:
		return "Pipelines are created as " + user + " by the bot's admin token (Sudo)."
	}
	s := "Pipelines are created by the bot's GitLab user after checking " + user + "'s role."
	if p.oauth != nil {
		s += " `link` makes them yours."
	}
	return s
}

// unlink revokes the caller's tokens in GitLab and deletes the link. The
// link is deleted even when GitLab does not confirm the revocation: the
// bot must stop acting as the user either way. It holds the identity's
// refresh lock, so a refresh under way here finishes first and the pair
// revoked is the one it saved, not the one it spent; a refresh on another
// replica finds the link gone when it saves and revokes its pair itself
// (saveRefreshed).
func (p *Plugin) unlink(ctx context.Context, w bot.Responder, r *commands.Request) error {
	identity := r.Message.Identity()
	if p.oauth == nil {
		return &bot.Refusal{Title: "Linking is off", Text: "There is nothing to unlink."}
	}
	mu := p.refreshLock(identity)
	mu.Lock()
	defer mu.Unlock()
	id, err := p.opts.Store.GetIdentity(ctx, identity)
	if errors.Is(err, store.ErrNotFound) {
		_, err = w.Reply(ctx, bot.Reply{Status: bot.StatusInfo, Title: "You are not linked", Text: "There is nothing to unlink."})
		return err
	}
	if err != nil {
		return err
	}
	var failed []string
	for _, sealed := range [][]byte{id.RefreshToken, id.AccessToken} {
		tok, err := p.open(identity, sealed)
		if err == nil && tok != "" {
			err = p.revoke(ctx, tok)
		}
		if err != nil {
			failed = append(failed, err.Error())
		}
	}
	if err := p.opts.Store.DeleteIdentity(ctx, identity); err != nil {
		return err
	}
	bot.Logger(ctx).Info("chat identity unlinked", "identity", identity, "gitlab_user", id.GitLabUsername, "revoked", len(failed) == 0)
	reply := bot.Reply{Status: bot.StatusSuccess, Title: "Unlinked from GitLab user " + id.GitLabUsername,
		Text: "The bot no longer acts as " + id.GitLabUsername + " and its tokens were revoked."}
	if len(failed) > 0 {
		reply.Status = bot.StatusFailure
		reply.Text = "The bot forgot the link, but GitLab did not confirm the revocation (" + strings.Join(failed, "; ") +
			"). Revoke chatops yourself in GitLab: " + strings.TrimRight(p.opts.GitLabURL, "/") + "/-/user_settings/applications"
	}
	_, err = w.Reply(ctx, reply)
	return err
}

// revoke revokes one token (RFC 7009; GitLab's POST /oauth/revoke).
func (p *Plugin) revoke(ctx context.Context, token string) error {
	form := url.Values{"token": {token}, "client_id": {p.opts.ClientID}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(p.opts.GitLabURL, "/")+"/oauth/revoke", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := p.opts.HTTPClient.Do(req)
	if err != nil {
		// The error names the URL, not the form: no token in it.
		return fmt.Errorf("revoking: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("revoking: HTTP %d", resp.StatusCode)
	}
	return nil
}
