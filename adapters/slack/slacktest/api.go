package slacktest

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Post is a chat.postMessage, chat.update or response_url call the fake
// accepted.
type Post struct {
	// Method is "chat.postMessage", "chat.update" or "response_url".
	Method string
	// Channel and TS identify the message (for an update, the one edited).
	Channel, TS string
	// ThreadTS is the thread the message was posted in, if any.
	ThreadTS string
	// Text is the top-level text (the notification fallback with blocks).
	Text string
	// Blocks is the Block Kit JSON as sent, or nil.
	Blocks json.RawMessage
	// At is when the fake received the call.
	At time.Time
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func slackErr(w http.ResponseWriter, code string, details ...string) {
	body := map[string]any{"ok": false, "error": code}
	if len(details) > 0 {
		body["errors"] = details
		body["response_metadata"] = map[string]any{"messages": details}
	}
	writeJSON(w, body)
}

// serveAPI answers Web API methods under /api/.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	if err := r.ParseForm(); err != nil {
		slackErr(w, "invalid_form_data")
		return
	}
	s.mu.Lock()
	// Slack's limits are per method and workspace, not per channel: until
	// Retry-After has passed, every call of the method is refused again.
	key := method + " " + tokenOf(r) // per method and workspace (token)
	if until := s.limitedUntil[key]; time.Now().Before(until) {
		secs := int(time.Until(until).Seconds()) + 1
		s.limited = append(s.limited, Limited{Method: method, RetryAfter: time.Duration(secs) * time.Second, At: time.Now(), Ignored: true})
		s.notifyLocked()
		s.mu.Unlock()
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	if q := s.limits[method]; len(q) > 0 {
		s.limits[method] = q[1:]
		s.limitedUntil[key] = time.Now().Add(time.Duration(q[0]) * time.Second)
		s.limited = append(s.limited, Limited{Method: method, RetryAfter: time.Duration(q[0]) * time.Second, At: time.Now()})
		s.notifyLocked()
		s.mu.Unlock()
		w.Header().Set("Retry-After", strconv.Itoa(q[0]))
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	s.mu.Unlock()

	switch method {
	case "apps.connections.open":
		if r.Header.Get("Authorization") != "Bearer "+s.AppToken {
			slackErr(w, "invalid_auth")
			return
		}
		ticket := s.nextID("ticket-")
		writeJSON(w, map[string]any{"ok": true, "url": "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/link/?ticket=" + ticket + "&app_id=" + s.AppID})
	case "auth.test":
		if tokenOf(r) != s.BotToken {
			slackErr(w, "invalid_auth")
			return
		}
		writeJSON(w, map[string]any{"ok": true, "url": "https://slacktest.slack.com/", "team": "slacktest",
			"user": "chatops", "team_id": s.TeamID, "user_id": s.BotUserID, "bot_id": s.BotID, "is_enterprise_install": false})
	case "chat.postMessage", "chat.update":
		s.serveChat(w, r, method)
	case "chat.postEphemeral":
		s.serveEphemeral(w, r)
	case "conversations.open":
		if tokenOf(r) != s.BotToken {
			slackErr(w, "invalid_auth")
			return
		}
		user := r.FormValue("users")
		if user == "" || strings.Contains(user, ",") {
			slackErr(w, "invalid_arguments")
			return
		}
		s.mu.Lock()
		s.dmOpens++
		code := s.noDM[user]
		s.mu.Unlock()
		if code != "" {
			slackErr(w, code)
			return
		}
		writeJSON(w, map[string]any{"ok": true, "channel": map[string]any{"id": "D" + user, "is_im": true}})
	default:
		slackErr(w, "unknown_method")
	}
}

func (s *Server) serveChat(w http.ResponseWriter, r *http.Request, method string) {
	if tokenOf(r) != s.BotToken {
		slackErr(w, "invalid_auth")
		return
	}
	p := Post{Method: method, Channel: r.FormValue("channel"), ThreadTS: r.FormValue("thread_ts"),
		Text: r.FormValue("text"), At: time.Now()}
	s.mu.Lock()
	outside := s.outside[p.Channel]
	s.mu.Unlock()
	if p.Channel == "" {
		slackErr(w, "channel_not_found")
		return
	}
	if outside {
		slackErr(w, "not_in_channel")
		return
	}
	if b := r.FormValue("blocks"); b != "" {
		p.Blocks = json.RawMessage(b)
	}
	if code, details := s.checkMessage(p.Text, p.Blocks); code != "" {
		slackErr(w, code, details...)
		return
	}
	s.mu.Lock()
	if method == "chat.update" {
		p.TS = r.FormValue("ts")
		if !s.hasMessageLocked(p.Channel, p.TS) {
			s.mu.Unlock()
			slackErr(w, "message_not_found")
			return
		}
	} else {
		p.TS = s.nextTSLocked()
	}
	s.posts = append(s.posts, p)
	s.notifyLocked()
	s.mu.Unlock()
	writeJSON(w, map[string]any{"ok": true, "channel": p.Channel, "ts": p.TS, "text": p.Text,
		"message": map[string]any{"type": "message", "user": s.BotUserID, "bot_id": s.BotID, "text": p.Text, "ts": p.TS, "thread_ts": p.ThreadTS}})
}

func (s *Server) hasMessageLocked(channel, ts string) bool {
	for _, p := range s.posts {
		if p.Method == "chat.postMessage" && p.Channel == channel && p.TS == ts {
			return true
		}
	}
	return false
}

// Posts returns every accepted chat.postMessage and chat.update so far.
func (s *Server) Posts() []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Post(nil), s.posts...)
}

// NextPost waits for the next accepted post or update that no earlier
// NextPost call returned, in the order the fake accepted them.
func (s *Server) NextPost(ctx context.Context) (Post, error) {
	var p Post
	err := s.waitFor(ctx, "the bot's next post", func() bool {
		if s.readPos < len(s.posts) {
			p = s.posts[s.readPos]
			s.readPos++
			return true
		}
		return false
	})
	return p, err
}

// serveResponseURL is a slash command's response_url: JSON with text,
// blocks and response_type.
func (s *Server) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	// Slack: a response_url accepts up to 5 responses within 30 minutes
	// of the command; after that it answers 404.
	s.mu.Lock()
	ru, ok := s.responses[r.URL.Path]
	refusal := ""
	switch {
	case !ok:
		refusal = "unknown response_url"
	case ru.uses >= ResponseURLUses:
		refusal = "used_url"
	case s.now().Sub(ru.created) > ResponseURLLifetime:
		refusal = "expired_url"
	default:
		ru.uses++
	}
	if refusal != "" {
		s.refusedResponses++
		s.notifyLocked()
	}
	s.mu.Unlock()
	if refusal != "" {
		http.Error(w, refusal, http.StatusNotFound)
		return
	}
	channel := ru.channel
	var body struct {
		Text         string          `json:"text"`
		Blocks       json.RawMessage `json:"blocks"`
		ResponseType string          `json:"response_type"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		slackErr(w, "invalid_payload")
		return
	}
	if string(body.Blocks) == "null" {
		body.Blocks = nil
	}
	if code, details := s.checkMessage(body.Text, body.Blocks); code != "" {
		slackErr(w, code, details...)
		return
	}
	s.mu.Lock()
	s.posts = append(s.posts, Post{Method: "response_url", Channel: channel, Text: body.Text, Blocks: body.Blocks, At: time.Now()})
	s.notifyLocked()
	s.mu.Unlock()
	writeJSON(w, map[string]any{"ok": true})
}
