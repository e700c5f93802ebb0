package slack

import (
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

func TestFromEvent(t *testing.T) {
	a, err := New(Config{AppToken: "xapp-1", BotToken: "xoxb-1"})
	if err != nil {
		t.Fatal(err)
	}
	a.self.Store(&ident{userID: "UBOT", botID: "BBOT"})
	msg := func(ev *slackevents.MessageEvent) slackevents.EventsAPIEvent {
		return slackevents.EventsAPIEvent{InnerEvent: slackevents.EventsAPIInnerEvent{Type: "message", Data: ev}}
	}
	tests := []struct {
		name                         string
		ev                           slackevents.EventsAPIEvent
		ok, addressed, bot, self, dm bool
		id, thread, text, senderID   string
	}{
		{name: "channel mention", ev: msg(&slackevents.MessageEvent{Channel: "C1", ChannelType: "channel", User: "U1", Text: "<@UBOT> run x", TimeStamp: "1.1"}),
			ok: true, addressed: true, id: "C1:1.1", thread: "1.1", text: "run x", senderID: "U1"},
		{name: "in a thread", ev: msg(&slackevents.MessageEvent{Channel: "C1", ChannelType: "channel", User: "U1", Text: "<@UBOT> run x", TimeStamp: "1.2", ThreadTimeStamp: "1.0"}),
			ok: true, addressed: true, id: "C1:1.2", thread: "1.0", text: "run x", senderID: "U1"},
		{name: "channel chatter", ev: msg(&slackevents.MessageEvent{Channel: "C1", ChannelType: "channel", User: "U1", Text: "lunch?", TimeStamp: "1.3"}),
			ok: true, id: "C1:1.3", thread: "1.3", text: "lunch?", senderID: "U1"},
		{name: "dm", ev: msg(&slackevents.MessageEvent{Channel: "D1", ChannelType: "im", User: "U1", Text: "run x", TimeStamp: "1.4"}),
			ok: true, addressed: true, dm: true, id: "D1:1.4", text: "run x", senderID: "U1"},
		{name: "other bot", ev: msg(&slackevents.MessageEvent{Channel: "C1", ChannelType: "channel", BotID: "B2", SubType: "bot_message", Text: "<@UBOT> run x", TimeStamp: "1.5"}),
			ok: true, addressed: true, bot: true, id: "C1:1.5", thread: "1.5", text: "run x", senderID: "B2"},
		{name: "itself by bot id", ev: msg(&slackevents.MessageEvent{Channel: "D1", ChannelType: "im", BotID: "BBOT", Text: "done", TimeStamp: "1.6"}),
			ok: true, addressed: true, bot: true, self: true, dm: true, id: "D1:1.6", text: "done", senderID: "BBOT"},
		{name: "edit ignored", ev: msg(&slackevents.MessageEvent{Channel: "C1", ChannelType: "channel", SubType: "message_changed", TimeStamp: "1.7"})},
		{name: "join ignored", ev: msg(&slackevents.MessageEvent{Channel: "C1", ChannelType: "channel", SubType: "channel_join", User: "U1", TimeStamp: "1.8"})},
		{name: "app mention", ev: slackevents.EventsAPIEvent{InnerEvent: slackevents.EventsAPIInnerEvent{Type: "app_mention",
			Data: &slackevents.AppMentionEvent{Channel: "C1", User: "U1", Text: "<@UBOT> help", TimeStamp: "1.1"}}},
			ok: true, addressed: true, id: "C1:1.1", thread: "1.1", text: "help", senderID: "U1"},
		{name: "edited app mention ignored", ev: slackevents.EventsAPIEvent{InnerEvent: slackevents.EventsAPIInnerEvent{Type: "app_mention",
			Data: &slackevents.AppMentionEvent{Channel: "C1", User: "U1", Text: "<@UBOT> help", TimeStamp: "1.1", Edited: &slackevents.Edited{User: "U1"}}}}},
		{name: "other event", ev: slackevents.EventsAPIEvent{InnerEvent: slackevents.EventsAPIInnerEvent{Type: "reaction_added", Data: &slackevents.ReactionAddedEvent{}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ok := a.fromEvent(tt.ev)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if m.Addressed != tt.addressed || m.Sender.IsBot != tt.bot || m.Sender.IsSelf != tt.self || m.Conversation.Direct != tt.dm {
				t.Errorf("addressed %v bot %v self %v dm %v; want %v %v %v %v", m.Addressed, m.Sender.IsBot, m.Sender.IsSelf, m.Conversation.Direct, tt.addressed, tt.bot, tt.self, tt.dm)
			}
			if m.EventID != tt.id || m.Conversation.ThreadID != tt.thread || m.Text != tt.text || m.Sender.ID != tt.senderID || m.Platform != "slack" {
				t.Errorf("got %+v", m)
			}
		})
	}
}

func TestFromSlashCommand(t *testing.T) {
	a, _ := New(Config{AppToken: "xapp-1", BotToken: "xoxb-1"})
	m, ok := a.fromSlashCommand(slack.SlashCommand{ChannelID: "D1", ChannelName: "directmessage", UserID: "U1", UserName: "ann",
		Text: "run x a&amp;b", ResponseURL: "https://hooks.slack.com/commands/1", TriggerID: "t1"}, "")
	if !ok || !m.Addressed || !m.Conversation.Direct || m.Conversation.Handle == "" || m.EventID != "slash:t1" || m.Text != "run x a&b" || m.Sender.ID != "U1" {
		t.Errorf("got %+v", m)
	}
}
