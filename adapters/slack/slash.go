package slack

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slack-go/slack"

	"github.com/chatops-dev/chatops/adapters/internal/responseurl"
	"github.com/chatops-dev/chatops/bot"
)

// Slack's documented response_url rules: up to 5 responses within 30
// minutes of the command. The adapter stops before either limit.
var responseURLLimits = responseurl.Limits{
	Lifetime: 30 * time.Minute,
	Margin:   time.Minute,
	MaxUses:  4, // of 5: one spare for a retry Slack may have counted
	Rule:     "Slack allows 5 within 30 minutes",
}

// responseURLID is the Sent.ID of a reply posted through response_url:
// such a message cannot be edited, only answered once more.
const responseURLID = "response_url"

// decodeSlash reads a Handle; a bare URL (the old form) has an unknown age
// and use count, so it is taken as used up to the last use.
func decodeSlash(s string) responseurl.Handle {
	h, ok := responseurl.Decode(s)
	if !ok {
		return responseurl.Handle{URL: s, Uses: responseURLLimits.MaxUses - 1}
	}
	return h
}

// viaResponseURL posts m through the command's response_url while it is
// usable, and falls back (see fallback) when it is not.
func (a *Adapter) viaResponseURL(ctx context.Context, conv bot.Conversation, m message, channelTried bool) (bot.Sent, error) {
	h, err := a.urlUses.Take(decodeSlash(conv.Handle), responseURLLimits, time.Now())
	if err != nil {
		return a.fallback(ctx, conv, h, m, channelTried, err)
	}
	err = a.postResponseURL(ctx, conv.ChannelID, h.URL, slack.ResponseTypeInChannel, m)
	var sc slack.StatusCodeError
	if errors.As(err, &sc) && sc.Code >= 400 && sc.Code < 500 {
		return a.fallback(ctx, conv, h, m, channelTried, bot.Permanent(fmt.Errorf("response_url refused: %w", err)))
	}
	if err != nil {
		return bot.Sent{}, err
	}
	conv.Handle = h.Encode()
	return bot.Sent{Conversation: conv, ID: responseURLID}, nil
}

// postResponseURL posts m through a slash command's response_url, as
// responseType (in_channel or ephemeral). The URL lets whoever has it post
// in the channel for 30 minutes, and errors are logged: they name its host
// only (responseurl.ScrubError), not the URL slack-go's client quotes.
func (a *Adapter) postResponseURL(ctx context.Context, channel, hookURL, responseType string, m message) error {
	return a.call(ctx, channel, "response_url", func() error {
		_, _, err := a.api.PostMessageContext(ctx, channel, slack.MsgOptionResponseURL(hookURL, responseType),
			slack.MsgOptionText(m.Text, false), slack.MsgOptionBlocks(m.Blocks...))
		return responseurl.ScrubError(err)
	})
}

// fallback delivers a slash command's reply when its response_url cannot:
// in the channel if the bot may post there, else as a DM to whoever ran
// the command, else it is logged.
func (a *Adapter) fallback(ctx context.Context, conv bot.Conversation, h responseurl.Handle, m message, channelTried bool, cause error) (bot.Sent, error) {
	post := func(channel string) (string, error) {
		var ts string
		err := a.call(ctx, channel, "chat.postMessage", func() error {
			_, t, err := a.api.PostMessageContext(ctx, channel, slack.MsgOptionText(m.Text, false),
				slack.MsgOptionBlocks(m.Blocks...), slack.MsgOptionDisableLinkUnfurl())
			ts = t
			return err
		})
		return ts, err
	}
	var err error
	if !channelTried {
		var ts string
		if ts, err = post(conv.ChannelID); err == nil {
			return bot.Sent{Conversation: bot.Conversation{ChannelID: conv.ChannelID, Direct: conv.Direct}, ID: ts}, nil
		}
	}
	if h.User != "" {
		var ch *slack.Channel
		ch, _, _, err = a.api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{h.User}})
		if err == nil {
			var ts string
			if ts, err = post(ch.ID); err == nil {
				return bot.Sent{Conversation: bot.Conversation{ChannelID: ch.ID, Direct: true}, ID: ts}, nil
			}
		}
	}
	a.log.Warn("a /chatops reply could not be delivered: its response_url is unusable and the bot can neither post in the channel nor DM the user",
		"channel", conv.ChannelID, "user", h.User, "cause", cause, "err", err)
	return bot.Sent{}, bot.Permanent(fmt.Errorf("slack: reply to /chatops in %s: %w", conv.ChannelID, errors.Join(cause, err)))
}

// editResponseURL "edits" a reply posted through response_url, which
// Slack cannot edit: progress states are not sent through it (each would
// use one of its five responses), the final state is posted once.
func (a *Adapter) editResponseURL(ctx context.Context, ref bot.Sent, r bot.Reply) (bot.Sent, error) {
	if r.Status == bot.StatusWorking {
		return ref, nil
	}
	var sent bot.Sent
	err := retryShorter(r, func(m message) error {
		var err error
		sent, err = a.viaResponseURL(ctx, ref.Conversation, m, false)
		return err
	})
	return sent, err
}
