package mattermost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/chatops-dev/chatops/adapters/internal/responseurl"
	"github.com/chatops-dev/chatops/bot"
)

// hookLimits are Mattermost's rules for a slash command's response URL
// (/hooks/commands/<id>): it expires model.CommandWebhookLifetime (30
// minutes) after the command, and the server accepts 5 posts through it
// (app.HandleCommandWebhook: TryUse(id, 5)). The adapter stops before both.
var hookLimits = responseurl.Limits{
	Lifetime: model.CommandWebhookLifetime * time.Millisecond,
	Margin:   time.Minute,
	MaxUses:  4, // of 5: one spare for an attempt the server counted but whose answer was lost
	Rule:     "Mattermost allows 5 within 30 minutes",
}

// hookSentID is the Sent.ID of a reply posted through the response URL:
// the server posts it as the user who ran the command, so the bot cannot
// edit it, only answer once more.
const hookSentID = "response_url"

// isForbidden reports a 403 from the REST API: the bot may not post in
// the channel (not a member of it).
func isForbidden(err error) bool {
	var ae *model.AppError
	return errors.As(err, &ae) && ae.StatusCode == http.StatusForbidden
}

// viaHook answers a slash command through its response URL, in the
// channel for everyone (in_channel), while the URL is usable, and
// otherwise in a DM to whoever ran the command (see fallback).
func (a *Adapter) viaHook(ctx context.Context, to bot.Conversation, h responseurl.Handle, r bot.Reply, cause error) (bot.Sent, error) {
	h, err := a.hookUses.Take(h, hookLimits, time.Now())
	if err != nil {
		return a.fallback(ctx, h, r, errors.Join(cause, err))
	}
	err = a.postHook(ctx, h.URL, model.CommandResponseTypeInChannel, r)
	if isClientError(err) {
		return a.fallback(ctx, h, r, errors.Join(cause, err))
	}
	if err != nil {
		return bot.Sent{}, err
	}
	to.Handle = h.Encode()
	return bot.Sent{Conversation: to, ID: hookSentID}, nil
}

// fallback delivers a slash command's answer that neither the channel
// nor the response URL can take: as a DM to whoever ran the command,
// else it is logged once and given up.
func (a *Adapter) fallback(ctx context.Context, h responseurl.Handle, r bot.Reply, cause error) (bot.Sent, error) {
	err := errors.New("the command's user is unknown")
	if h.User != "" {
		var dm bot.Conversation
		if dm, err = a.OpenDirect(ctx, bot.Message{Sender: bot.User{ID: h.User}}); err == nil {
			var sent bot.Sent
			if sent, err = a.post(ctx, dm, r); err == nil {
				return sent, nil
			}
		}
		if !bot.IsPermanent(err) {
			return bot.Sent{}, fmt.Errorf("mattermost: a slash command's answer as a DM: %w", err)
		}
	}
	a.log.Warn("a slash command's answer could not be delivered: the bot may not post in the channel, the response URL is unusable and no DM could be sent",
		"user", h.User, "cause", cause, "err", err)
	return bot.Sent{}, bot.Permanent(fmt.Errorf("mattermost: answer to a slash command: %w", errors.Join(cause, err)))
}

// Whisper implements bot.Whisperer for slash commands: an ephemeral
// response through the command's response URL, which only its user sees.
// Other messages, and a used up or expired URL, get bot.ErrNoWhisper
// (the bot answers in a DM then): Mattermost's REST API lets only system
// admins post ephemeral messages.
func (a *Adapter) Whisper(ctx context.Context, m bot.Message, r bot.Reply) error {
	h, ok := responseurl.Decode(m.Conversation.Handle)
	if !ok || m.Conversation.Direct {
		return bot.ErrNoWhisper
	}
	h, err := a.hookUses.Take(h, hookLimits, time.Now())
	if err != nil {
		return fmt.Errorf("mattermost: %w: %w", bot.ErrNoWhisper, err)
	}
	err = a.postHook(ctx, h.URL, model.CommandResponseTypeEphemeral, r)
	if isClientError(err) {
		return fmt.Errorf("mattermost: %w: %w", bot.ErrNoWhisper, err)
	}
	return err
}

// hookError is the server's refusal of a response URL post.
type hookError struct {
	status int
	body   string
}

func (e *hookError) Error() string {
	return fmt.Sprintf("response URL answered %d: %.200s", e.status, e.body)
}

// isClientError reports a refusal retrying cannot change: a 4xx, or a
// redirect (not followed).
func isClientError(err error) bool {
	var he *hookError
	return errors.As(err, &he) && he.status >= 300 && he.status < 500
}

// postHook posts r through a response URL. Its text is the same
// Markdown as a post's, sent with skip_slack_parsing so that the server
// does not rewrite it as Slack markup.
func (a *Adapter) postHook(ctx context.Context, hookURL, responseType string, r bot.Reply) error {
	body, err := json.Marshal(model.CommandResponse{ResponseType: responseType, Text: Render(r, a.selfName()), SkipSlackParsing: true})
	if err != nil {
		return fmt.Errorf("mattermost: encode a command response: %w", err)
	}
	// The URL (/hooks/commands/<id>) lets whoever has it post in the
	// channel as the command's user for 30 minutes, and errors are logged:
	// they name its host only (responseurl.ScrubError).
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hookURL, bytes.NewReader(body))
	if err != nil {
		return bot.Permanent(fmt.Errorf("mattermost: response URL: %w", responseurl.ScrubError(err)))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.hookClient.Do(req)
	if err != nil {
		return fmt.Errorf("mattermost: post to the response URL: %w", responseurl.ScrubError(err))
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return &hookError{status: resp.StatusCode, body: string(msg)}
	}
	return nil
}
