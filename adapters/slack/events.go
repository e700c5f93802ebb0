package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/chatops-dev/chatops/adapters/internal/responseurl"
	"github.com/chatops-dev/chatops/bot"
)

// ackTimeout bounds queueing an ack; Slack redelivers what is not acked.
const ackTimeout = 5 * time.Second

// handle acknowledges one envelope, then translates and delivers it.
// Acking first matters: Slack redelivers envelopes not acked within 3
// seconds, and shows slash commands as failed. A payload that cannot be
// read is acked too (a redelivery would not read better) and logged.
func (a *Adapter) handle(ctx context.Context, c *socketConn, req socketmode.Request, deliver func(bot.Message)) {
	defer func() {
		if p := recover(); p != nil {
			a.log.Error("an event handler panicked; the event is dropped, the connection kept", "type", req.Type, "panic", p, "stack", string(debug.Stack()))
		}
	}()
	if ctx.Err() != nil {
		return // shutting down: Slack redelivers what is not acked
	}
	actx, cancel := context.WithTimeout(ctx, ackTimeout)
	err := c.ack(actx, req.EnvelopeID)
	cancel()
	if err != nil {
		a.log.Warn("could not ack envelope; Slack will redeliver it", "envelope", req.EnvelopeID, "err", err)
	}
	if req.RetryAttempt > 0 {
		a.log.Debug("redelivered envelope", "envelope", req.EnvelopeID,
			"attempt", req.RetryAttempt, "reason", req.RetryReason)
	}
	m, ok, err := a.translate(req)
	if err != nil {
		a.log.Warn("unreadable Socket Mode payload", "type", req.Type, "envelope", req.EnvelopeID, "err", err)
		return
	}
	if ok {
		deliver(m)
	}
}

// translate turns an envelope into a message for the bot: ok is false for
// envelopes that are not commands (other workspaces, edits, joins, ...);
// err says the payload could not be read.
func (a *Adapter) translate(req socketmode.Request) (m bot.Message, ok bool, err error) {
	switch req.Type {
	case socketmode.RequestTypeEventsAPI:
		data, err := slackevents.ParseEvent(req.Payload, slackevents.OptionNoVerifyToken())
		if err != nil {
			return m, false, fmt.Errorf("events API payload: %w", err)
		}
		if !a.teams.Allows(data.TeamID) {
			return m, false, nil
		}
		m, ok = a.fromEvent(data)
	case socketmode.RequestTypeSlashCommands:
		var data slack.SlashCommand
		if err := json.Unmarshal(req.Payload, &data); err != nil {
			return m, false, fmt.Errorf("slash command payload: %w", err)
		}
		if !a.teams.Allows(data.TeamID) {
			return m, false, nil
		}
		m, ok = a.fromSlashCommand(data, req.EnvelopeID)
	case socketmode.RequestTypeInteractive:
		var data slack.InteractionCallback
		if err := json.Unmarshal(req.Payload, &data); err != nil {
			return m, false, fmt.Errorf("interaction payload: %w", err)
		}
		if !a.teams.Allows(data.Team.ID) {
			return m, false, nil
		}
		m, ok = fromBlockAction(data)
	}
	if ok && m.Conversation.ChannelID == "" {
		// Nowhere to answer: not something Slack sends, so say so.
		return bot.Message{}, false, errors.New("no channel in the payload")
	}
	return m, ok, nil
}

func (a *Adapter) identity() ident {
	if id := a.self.Load(); id != nil {
		return *id
	}
	return ident{}
}

// fromEvent translates an Events API callback. A channel message that
// mentions the bot arrives both as `message` and as `app_mention`; both
// get EventID channel:ts, so the bot handles it once.
func (a *Adapter) fromEvent(e slackevents.EventsAPIEvent) (bot.Message, bool) {
	self := a.identity()
	switch ev := e.InnerEvent.Data.(type) {
	case *slackevents.AppMentionEvent:
		if ev.Edited != nil {
			return bot.Message{}, false // an edit is not a new command
		}
		text, mentioned := parseText(ev.Text, self.userID)
		return bot.Message{
			Platform: "slack", EventID: ev.Channel + ":" + ev.TimeStamp, ID: ev.TimeStamp,
			Conversation: bot.Conversation{ChannelID: ev.Channel, ThreadID: firstOf(ev.ThreadTimeStamp, ev.TimeStamp)},
			Sender:       sender(self, ev.User, ev.BotID, ""),
			Text:         text, Addressed: mentioned, Received: time.Now(),
		}, true
	case *slackevents.MessageEvent:
		switch ev.SubType {
		case "", "bot_message", "thread_broadcast", "file_share", "me_message":
		default:
			return bot.Message{}, false // edits, deletions, joins, ...
		}
		text, mentioned := parseText(ev.Text, self.userID)
		direct := ev.ChannelType == "im"
		conv := bot.Conversation{ChannelID: ev.Channel, Direct: direct, ThreadID: firstOf(ev.ThreadTimeStamp, ev.TimeStamp)}
		if direct {
			// In a DM the conversation is the thread; only keep one the
			// user started.
			conv.ThreadID = ev.ThreadTimeStamp
		}
		s := sender(self, ev.User, ev.BotID, ev.Username)
		if ev.SubType == "bot_message" {
			s.IsBot = true
		}
		return bot.Message{
			Platform: "slack", EventID: ev.Channel + ":" + ev.TimeStamp, ID: ev.TimeStamp,
			Conversation: conv, Sender: s, Text: text,
			Addressed: direct || mentioned, Received: time.Now(),
		}, true
	}
	return bot.Message{}, false
}

// sender builds the author: Slack's immutable user id (a bot's id when a
// bot without a user posted), flagged as bot or as this bot itself.
func sender(self ident, user, botID, username string) bot.User {
	u := bot.User{ID: firstOf(user, botID), Username: username, IsBot: botID != ""}
	u.IsSelf = (user != "" && user == self.userID) || (botID != "" && botID == self.botID)
	return u
}

// fromSlashCommand translates /chatops. Replies go to the channel with
// chat.postMessage; the response URL is kept in Handle.
func (a *Adapter) fromSlashCommand(c slack.SlashCommand, envelopeID string) (bot.Message, bool) {
	id := firstOf(c.TriggerID, envelopeID)
	text, _ := parseText(c.Text, a.identity().userID)
	return bot.Message{
		Platform: "slack", EventID: "slash:" + id,
		Conversation: bot.Conversation{
			ChannelID: c.ChannelID,
			Direct:    c.ChannelName == "directmessage" || strings.HasPrefix(c.ChannelID, "D"),
			Handle:    responseurl.Handle{URL: c.ResponseURL, Issued: time.Now(), User: c.UserID}.Encode(),
		},
		Sender:    bot.User{ID: c.UserID, Username: c.UserName},
		Text:      text,
		Addressed: true,
		Received:  time.Now(),
	}, true
}

func firstOf(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
