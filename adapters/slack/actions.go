package slack

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/chatops-dev/chatops/bot"
)

// fromBlockAction translates a Block Kit button click (a block_actions
// interaction) into a message whose Action is the button's action_id,
// from the user who clicked, in the clicked message's channel and
// thread. Other interactions (modals, shortcuts) are not the bot's.
func fromBlockAction(cb slack.InteractionCallback) (bot.Message, bool) {
	if cb.Type != slack.InteractionTypeBlockActions || len(cb.ActionCallback.BlockActions) == 0 || cb.User.ID == "" {
		return bot.Message{}, false
	}
	act := cb.ActionCallback.BlockActions[0]
	channel := firstOf(cb.Channel.ID, cb.Container.ChannelID)
	if channel == "" || act.ActionID == "" {
		return bot.Message{}, false
	}
	// The clicked message's thread, else the message itself: the answer
	// joins the conversation the button was in.
	thread := firstOf(cb.Message.ThreadTimestamp, cb.Container.ThreadTs, cb.Message.Timestamp, cb.Container.MessageTs)
	direct := strings.HasPrefix(channel, "D")
	if direct {
		thread = firstOf(cb.Message.ThreadTimestamp, cb.Container.ThreadTs)
	}
	return bot.Message{
		Platform: "slack",
		// A redelivered envelope carries the same action_ts and is
		// handled once; a second click has its own and is a new message.
		EventID:      "action:" + channel + ":" + act.ActionTs + ":" + cb.User.ID,
		Conversation: bot.Conversation{ChannelID: channel, ThreadID: thread, Direct: direct},
		Sender:       bot.User{ID: cb.User.ID, Username: cb.User.Name},
		Action:       act.ActionID,
		ActionOn:     firstOf(cb.Message.Timestamp, cb.Container.MessageTs),
		Addressed:    true,
		Received:     time.Now(),
	}, true
}

// Whisper implements bot.Whisperer with chat.postEphemeral: only m's
// sender sees the reply, in m's channel and thread. Slack refuses that in
// a channel the bot is not in (a /chatops run there): the reply then goes
// as an ephemeral response through the command's response_url while it is
// usable, and otherwise Whisper returns bot.ErrNoWhisper, so the bot
// answers in a DM instead of losing the reply.
func (a *Adapter) Whisper(ctx context.Context, m bot.Message, r bot.Reply) error {
	msg := render(r)
	opts := []slack.MsgOption{slack.MsgOptionText(msg.Text, false), slack.MsgOptionBlocks(msg.Blocks...)}
	if m.Conversation.ThreadID != "" {
		opts = append(opts, slack.MsgOptionTS(m.Conversation.ThreadID))
	}
	err := a.call(ctx, m.Conversation.ChannelID, "chat.postEphemeral", func() error {
		_, err := a.api.PostEphemeralContext(ctx, m.Conversation.ChannelID, m.Sender.ID, opts...)
		return err
	})
	if !isCode(err, "channel_not_found", "not_in_channel", "user_not_in_channel") {
		return err
	}
	if m.Conversation.Handle == "" {
		return fmt.Errorf("%w: %w", bot.ErrNoWhisper, err)
	}
	h, uerr := a.urlUses.Take(decodeSlash(m.Conversation.Handle), responseURLLimits, time.Now())
	if uerr != nil {
		return fmt.Errorf("%w: %w", bot.ErrNoWhisper, errors.Join(err, uerr))
	}
	uerr = a.postResponseURL(ctx, m.Conversation.ChannelID, h.URL, slack.ResponseTypeEphemeral, msg)
	var sc slack.StatusCodeError
	var se slack.SlackErrorResponse
	if (errors.As(uerr, &sc) && sc.Code >= 400 && sc.Code < 500) || errors.As(uerr, &se) {
		// Refused (used up, expired, or the message itself): a DM can
		// still carry it.
		return fmt.Errorf("%w: %w", bot.ErrNoWhisper, errors.Join(err, uerr))
	}
	return uerr
}
