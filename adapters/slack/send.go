package slack

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/slack-go/slack"

	"github.com/chatops-dev/chatops/bot"
)

// permanentCodes are Web API errors (chat.*, conversations.open) that
// retrying the same request cannot fix.
var permanentCodes = map[string]bool{
	"invalid_blocks": true, "invalid_blocks_format": true, "msg_too_long": true, "msg_blocks_too_long": true,
	"no_text": true, "channel_not_found": true, "not_in_channel": true, "is_archived": true,
	"message_not_found": true, "cant_update_message": true, "edit_window_closed": true,
	"restricted_action": true, "invalid_auth": true, "not_authed": true, "account_inactive": true,
	"token_revoked": true, "missing_scope": true, "invalid_arguments": true,
	// conversations.open
	"user_not_found": true, "user_not_visible": true, "user_disabled": true, "cannot_dm_bot": true,
}

// retryShorter runs send with the reply rendered at the full block text
// budget and, if Slack answers msg_blocks_too_long (its limit moves with
// the content), once more at half the budget, so a long result is shown
// shortened rather than lost.
func retryShorter(r bot.Reply, send func(message) error) error {
	err := send(render(r))
	if isCode(err, "msg_blocks_too_long") {
		err = send(renderWithin(r, maxMessageText/2))
	}
	return err
}

// Send implements bot.Adapter: chat.postMessage in the conversation's
// thread.
func (a *Adapter) Send(ctx context.Context, to bot.Conversation, r bot.Reply) (bot.Sent, error) {
	var sent bot.Sent
	err := retryShorter(r, func(m message) error {
		var err error
		sent, err = a.send(ctx, to, m)
		return err
	})
	return sent, err
}

func (a *Adapter) send(ctx context.Context, to bot.Conversation, m message) (bot.Sent, error) {
	opts := []slack.MsgOption{
		slack.MsgOptionText(m.Text, false),
		slack.MsgOptionBlocks(m.Blocks...),
		slack.MsgOptionDisableLinkUnfurl(),
	}
	if to.ThreadID != "" {
		opts = append(opts, slack.MsgOptionTS(to.ThreadID))
	}
	var ts string
	err := a.call(ctx, to.ChannelID, "chat.postMessage", func() error {
		_, t, err := a.api.PostMessageContext(ctx, to.ChannelID, opts...)
		ts = t
		return err
	})
	if err != nil && to.Handle != "" && isCode(err, "not_in_channel", "channel_not_found") {
		// A slash command from a channel the bot is not in: answer through
		// the command's response_url (which cannot be edited later).
		return a.viaResponseURL(ctx, to, m, true)
	}
	if err != nil {
		return bot.Sent{}, err
	}
	return bot.Sent{Conversation: to, ID: ts}, nil
}

// isCode reports whether err is a Slack error with one of codes.
func isCode(err error, codes ...string) bool {
	var se slack.SlackErrorResponse
	return errors.As(err, &se) && slices.Contains(codes, se.Err)
}

// Edit implements bot.Editor: chat.update replaces the message in place.
func (a *Adapter) Edit(ctx context.Context, ref bot.Sent, r bot.Reply) (bot.Sent, error) {
	if ref.ID == responseURLID {
		return a.editResponseURL(ctx, ref, r)
	}
	ch := ref.Conversation.ChannelID
	err := retryShorter(r, func(m message) error {
		return a.call(ctx, ch, "chat.update", func() error {
			_, _, _, err := a.api.UpdateMessageContext(ctx, ch, ref.ID,
				slack.MsgOptionText(m.Text, false), slack.MsgOptionBlocks(m.Blocks...))
			return err
		})
	})
	if err != nil {
		return bot.Sent{}, err
	}
	return ref, nil
}

// call runs one Web API write for a channel, one at a time per channel so
// replies stay in order, waiting out 429s for as long as Slack asks.
// Slack's rate limits are per method and workspace, not per channel: after
// a 429 every conversation waits before calling that method again.
func (a *Adapter) call(ctx context.Context, channel, method string, op func() error) error {
	unlock, err := a.conv.Lock(ctx, channel)
	if err != nil {
		return fmt.Errorf("slack: %s to %s: %w", method, channel, err)
	}
	defer unlock()
	for {
		if err := a.waitMethod(ctx, method); err != nil {
			return fmt.Errorf("slack: %s to %s: rate limited and %w", method, channel, err)
		}
		err := op()
		var rl *slack.RateLimitedError
		if !errors.As(err, &rl) {
			return classify(method, channel, err)
		}
		wait := max(rl.RetryAfter, time.Second)
		a.mu.Lock()
		if a.methodLimit == nil {
			a.methodLimit = map[string]time.Time{}
		}
		if until := time.Now().Add(wait); until.After(a.methodLimit[method]) {
			a.methodLimit[method] = until
		}
		a.mu.Unlock()
		a.log.Info("rate limited by Slack, waiting", "method", method, "channel", channel, "retry_after", wait)
	}
}

// waitMethod waits until method is no longer rate limited.
func (a *Adapter) waitMethod(ctx context.Context, method string) error {
	a.mu.Lock()
	d := time.Until(a.methodLimit[method])
	a.mu.Unlock()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// classify wraps err, marking Slack's refusals that retrying cannot fix.
func classify(method, channel string, err error) error {
	if err == nil {
		return nil
	}
	err = fmt.Errorf("slack: %s to %s: %w", method, channel, err)
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && permanentCodes[se.Err] {
		return bot.Permanent(err)
	}
	return err
}
