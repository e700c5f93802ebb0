package slacktest

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Click is a button click for ClickButton: who clicked which button
// (ActionID, as rendered) on which message.
type Click struct {
	Channel   string
	MessageTS string
	// ThreadTS is the thread the clicked message is in, if any.
	ThreadTS string
	User     string
	ActionID string
	Value    string
}

// ClickButton sends the block_actions interaction Slack sends over
// Socket Mode when a user clicks a Block Kit button: envelope type
// "interactive", with the payload's type, user, container, channel,
// message, response_url and actions as Slack documents them
// (https://api.slack.com/reference/interaction-payloads/block-actions).
// It returns the envelope id.
func (s *Server) ClickButton(c Click) string {
	actionTS := s.nextTS()
	path := "/commands/" + s.nextID("act-")
	s.mu.Lock()
	s.responses[path] = &responseURL{channel: c.Channel, created: s.now()}
	s.mu.Unlock()
	message := map[string]any{"type": "message", "user": s.BotUserID, "bot_id": s.BotID, "ts": c.MessageTS, "text": "", "team": s.TeamID}
	container := map[string]any{"type": "message", "message_ts": c.MessageTS, "channel_id": c.Channel, "is_ephemeral": false}
	if c.ThreadTS != "" {
		message["thread_ts"] = c.ThreadTS
		container["thread_ts"] = c.ThreadTS
	}
	payload := map[string]any{
		"type":       "block_actions",
		"user":       map[string]any{"id": c.User, "username": strings.ToLower(c.User), "name": strings.ToLower(c.User), "team_id": s.TeamID},
		"api_app_id": s.AppID, "token": "verification-token-unused",
		"container":  container,
		"trigger_id": s.nextID("trig-"),
		"team":       map[string]any{"id": s.TeamID, "domain": "slacktest"},
		"enterprise": nil, "is_enterprise_install": false,
		"channel":      map[string]any{"id": c.Channel, "name": "general"},
		"message":      message,
		"state":        map[string]any{"values": map[string]any{}},
		"response_url": s.srv.URL + path,
		"actions": []map[string]any{{
			"action_id": c.ActionID, "block_id": "actions", "type": "button", "value": c.Value,
			"text": map[string]any{"type": "plain_text", "text": "Run", "emoji": true}, "action_ts": actionTS,
		}},
	}
	raw, _ := json.Marshal(payload)
	return s.send(envelope{Type: "interactive", ID: s.nextID("env-"), Payload: raw, AcceptsResponsePayload: false}, 0)
}

// Ephemeral is a chat.postEphemeral the fake accepted: a message only
// User sees.
type Ephemeral struct {
	Channel, User, ThreadTS, Text string
	Blocks                        json.RawMessage
	At                            time.Time
}

func (s *Server) serveEphemeral(w http.ResponseWriter, r *http.Request) {
	if tokenOf(r) != s.BotToken {
		slackErr(w, "invalid_auth")
		return
	}
	e := Ephemeral{Channel: r.FormValue("channel"), User: r.FormValue("user"), ThreadTS: r.FormValue("thread_ts"),
		Text: r.FormValue("text"), At: time.Now()}
	if e.Channel == "" {
		slackErr(w, "channel_not_found")
		return
	}
	if e.User == "" {
		slackErr(w, "user_not_in_channel")
		return
	}
	if b := r.FormValue("blocks"); b != "" {
		e.Blocks = json.RawMessage(b)
	}
	if code, details := s.checkMessage(e.Text, e.Blocks); code != "" {
		slackErr(w, code, details...)
		return
	}
	s.mu.Lock()
	s.ephemerals = append(s.ephemerals, e)
	ts := s.nextTSLocked()
	s.notifyLocked()
	s.mu.Unlock()
	writeJSON(w, map[string]any{"ok": true, "message_ts": ts})
}

// Ephemerals returns every accepted chat.postEphemeral so far.
func (s *Server) Ephemerals() []Ephemeral {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Ephemeral(nil), s.ephemerals...)
}

// WaitEphemerals waits until the fake has accepted at least n
// chat.postEphemeral calls and returns them all.
func (s *Server) WaitEphemerals(ctx context.Context, n int) ([]Ephemeral, error) {
	var out []Ephemeral
	err := s.waitFor(ctx, "the bot's ephemeral messages", func() bool {
		if len(s.ephemerals) >= n {
			out = append([]Ephemeral(nil), s.ephemerals...)
			return true
		}
		return false
	})
	return out, err
}
