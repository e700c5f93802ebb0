package slack

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/chatops-dev/chatops/bot"
)

// Slack's documented response_url rules: up to 5 responses within 30
// minutes of the command. The adapter stops before either limit.
const (
	responseURLLifetime = 30 * time.Minute
	responseURLMargin   = time.Minute
	responseURLMaxUses  = 4 // of 5: one spare for a retry Slack may have counted
	// responseURLID is the Sent.ID of a reply posted through response_url:
	// such a message cannot be edited, only answered once more.
	responseURLID = "response_url"
)

const slashPrefix = "r1?"

// slashHandle is what Conversation.Handle carries for /chatops: the
// response_url, when it was issued, who asked, and how many times the URL
// has been used as far as the Sent carrying it knows. All of it is in the
// Handle so that a reply edited long after, from a Sent restored from a
// database by another process, still follows the rules.
type slashHandle struct {
	URL    string
	Issued time.Time // zero when unknown
	User   string
	Uses   int
}

func (h slashHandle) encode() string {
	v := url.Values{"u": {h.URL}, "user": {h.User}, "n": {strconv.Itoa(h.Uses)}}
	if !h.Issued.IsZero() {
		v.Set("at", strconv.FormatInt(h.Issued.UnixMilli(), 10))
	}
	return slashPrefix + v.Encode()
}

// decodeSlash reads a Handle; a bare URL (the old form) has an unknown age
// and use count, so it is taken as used up to the last use.
func decodeSlash(s string) slashHandle {
	q, ok := strings.CutPrefix(s, slashPrefix)
	if !ok {
		return slashHandle{URL: s, Uses: responseURLMaxUses - 1}
	}
	v, err := url.ParseQuery(q)
	if err != nil {
		return slashHandle{}
	}
	h := slashHandle{URL: v.Get("u"), User: v.Get("user")}
	h.Uses, _ = strconv.Atoi(v.Get("n"))
	if ms, err := strconv.ParseInt(v.Get("at"), 10, 64); err == nil {
		h.Issued = time.UnixMilli(ms)
	}
	return h
}

// viaResponseURL posts m through the command's response_url while it is
// usable, and falls back (see fallback) when it is not.
func (a *Adapter) viaResponseURL(ctx context.Context, conv bot.Conversation, m message, channelTried bool) (bot.Sent, error) {
	h := decodeSlash(conv.Handle)
	a.mu.Lock()
	uses := max(h.Uses, a.urlUses[h.URL])
	a.mu.Unlock()
	switch {
	case h.URL == "":
		return a.fallback(ctx, conv, h, m, channelTried, errors.New("no response_url"))
	case uses >= responseURLMaxUses:
		return a.fallback(ctx, conv, h, m, channelTried, fmt.Errorf("response_url used %d times (Slack allows 5)", uses))
	case !h.Issued.IsZero() && time.Since(h.Issued) > responseURLLifetime-responseURLMargin:
		return a.fallback(ctx, conv, h, m, channelTried, errors.New("response_url older than 30 minutes"))
	}
	err := a.call(ctx, conv.ChannelID, "response_url", func() error {
		_, _, err := a.api.PostMessageContext(ctx, conv.ChannelID, slack.MsgOptionResponseURL(h.URL, slack.ResponseTypeInChannel),
			slack.MsgOptionText(m.Text, false), slack.MsgOptionBlocks(m.Blocks...))
		return err
	})
	// Count the attempt: Slack may have counted it even if the answer was lost.
	a.mu.Lock()
	if a.urlUses == nil {
		a.urlUses = map[string]int{}
	}
	a.urlUses[h.URL] = uses + 1
	a.mu.Unlock()
	var sc slack.StatusCodeError
	if errors.As(err, &sc) && sc.Code >= 400 && sc.Code < 500 {
		return a.fallback(ctx, conv, h, m, channelTried, bot.Permanent(fmt.Errorf("response_url refused: %w", err)))
	}
	if err != nil {
		return bot.Sent{}, err
	}
	h.Uses = uses + 1
	conv.Handle = h.encode()
	return bot.Sent{Conversation: conv, ID: responseURLID}, nil
}

// fallback delivers a slash command's reply when its response_url cannot:
// in the channel if the bot may post there, else as a DM to whoever ran
// the command, else it is logged.
func (a *Adapter) fallback(ctx context.Context, conv bot.Conversation, h slashHandle, m message, channelTried bool, cause error) (bot.Sent, error) {
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
