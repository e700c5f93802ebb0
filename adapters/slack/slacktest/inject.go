package slacktest

import (
	"encoding/json"
	"strings"
	"time"
)

// Delivery describes a message the fake sent to the bot.
type Delivery struct {
	// Channel and TS identify the message (TS is empty for slash commands).
	Channel, TS string
	// EnvelopeIDs are the envelopes that carried it, in sending order.
	EnvelopeIDs []string
	// ResponseURL is a slash command's response_url.
	ResponseURL string
}

// Msg is a message event's content for Inject.
type Msg struct {
	Channel     string
	ChannelType string // "channel", "group", "im" or "mpim"
	User        string
	BotID       string
	Subtype     string
	Text        string // as Slack sends it: entities and <...> markup
	ThreadTS    string
}

// eventEnvelope wraps an inner event the way Socket Mode delivers it.
func (s *Server) eventEnvelope(event map[string]any) envelope {
	payload := map[string]any{
		"token": "verification-token-unused", "team_id": s.TeamID, "api_app_id": s.AppID,
		"event": event, "type": "event_callback", "event_id": s.nextID("Ev"),
		"event_time": time.Now().Unix(), "event_context": "4-fake",
		"authorizations":        []map[string]any{{"team_id": s.TeamID, "user_id": s.BotUserID, "is_bot": true}},
		"is_ext_shared_channel": false,
	}
	raw, _ := json.Marshal(payload)
	return envelope{Type: "events_api", ID: s.nextID("env-"), Payload: raw}
}

// Inject sends a message as Slack sends it to an app subscribed to
// exactly app_mention and message.im (the manifest's events): a direct
// message arrives as a `message` event; a channel message arrives only if
// it mentions the bot, and then only as an `app_mention` (the app does not
// subscribe to message.channels). Other channel messages are not delivered
// at all.
func (s *Server) Inject(m Msg) Delivery {
	ts := s.nextTS()
	if m.ChannelType == "" {
		m.ChannelType = "channel"
	}
	base := map[string]any{"text": m.Text, "ts": ts, "event_ts": ts, "channel": m.Channel, "team": s.TeamID}
	if m.User != "" {
		base["user"] = m.User
	}
	if m.BotID != "" {
		base["bot_id"] = m.BotID
	}
	if m.ThreadTS != "" {
		base["thread_ts"] = m.ThreadTS
	}
	d := Delivery{Channel: m.Channel, TS: ts}
	if m.ChannelType == "im" {
		msg := clone(base)
		msg["type"] = "message"
		msg["channel_type"] = m.ChannelType
		if m.Subtype != "" {
			msg["subtype"] = m.Subtype
		} else {
			msg["client_msg_id"] = s.nextID("cm-")
		}
		d.EnvelopeIDs = append(d.EnvelopeIDs, s.send(s.eventEnvelope(msg), 0))
		return d
	}
	if strings.Contains(m.Text, "<@"+s.BotUserID) {
		mention := clone(base)
		mention["type"] = "app_mention"
		d.EnvelopeIDs = append(d.EnvelopeIDs, s.send(s.eventEnvelope(mention), 0))
	}
	return d
}

// Mention posts "<@BOT> text" by user in a channel (top level).
func (s *Server) Mention(channel, user, text string) Delivery {
	return s.Inject(Msg{Channel: channel, User: user, Text: "<@" + s.BotUserID + "> " + text})
}

// MentionInThread posts "<@BOT> text" by user as a reply in a thread.
func (s *Server) MentionInThread(channel, threadTS, user, text string) Delivery {
	return s.Inject(Msg{Channel: channel, User: user, ThreadTS: threadTS, Text: "<@" + s.BotUserID + "> " + text})
}

// DM sends text by user in the direct-message channel with the bot.
func (s *Server) DM(channel, user, text string) Delivery {
	return s.Inject(Msg{Channel: channel, ChannelType: "im", User: user, Text: text})
}

// BotMessage posts a message from another app's bot that mentions this bot.
func (s *Server) BotMessage(channel, botID, text string) Delivery {
	return s.Inject(Msg{Channel: channel, BotID: botID, Subtype: "bot_message", Text: "<@" + s.BotUserID + "> " + text})
}

// SelfMessage is the bot's own message echoed back, as Slack does in DMs.
func (s *Server) SelfMessage(channel, text string) Delivery {
	return s.Inject(Msg{Channel: channel, ChannelType: "im", User: s.BotUserID, BotID: s.BotID, Text: text})
}

// SlashCommand invokes "/chatops text" by user in a channel. It returns the
// envelope id; the payload's trigger_id is unique per invocation.
func (s *Server) SlashCommand(channel, user, text string) Delivery {
	payload := map[string]any{
		"token": "verification-token-unused", "team_id": s.TeamID, "team_domain": "slacktest",
		"channel_id": channel, "channel_name": "general", "user_id": user, "user_name": strings.ToLower(user),
		"command": "/chatops", "text": text, "api_app_id": s.AppID, "is_enterprise_install": "false",
		"trigger_id": s.nextID("trig-"),
	}
	path := "/commands/" + s.nextID("resp-")
	payload["response_url"] = s.srv.URL + path
	s.mu.Lock()
	s.responses[path] = &responseURL{channel: channel, created: s.now()}
	s.mu.Unlock()
	if strings.HasPrefix(channel, "D") {
		payload["channel_name"] = "directmessage"
	}
	raw, _ := json.Marshal(payload)
	id := s.send(envelope{Type: "slash_commands", ID: s.nextID("env-"), Payload: raw, AcceptsResponsePayload: true}, 0)
	return Delivery{Channel: channel, EnvelopeIDs: []string{id}, ResponseURL: s.srv.URL + path}
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+2)
	for k, v := range m {
		out[k] = v
	}
	return out
}
