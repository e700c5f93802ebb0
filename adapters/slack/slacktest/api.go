package slacktest

import (
	"context"
	"encoding/json"
	"fmt"
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

// Slack's documented limits, enforced the way Slack rejects them.
const (
	maxBlocks       = 50
	maxSectionText  = 3000
	maxFieldText    = 2000
	maxFields       = 10
	maxHeaderText   = 150
	maxContextElems = 10
	// maxMessageText: Slack documents 40,000 but now refuses top-level
	// text of about 4,000 characters with msg_too_long.
	maxMessageText = 4000
	// The sum of all text in a message's blocks: Slack answers
	// msg_blocks_too_long well below 50 blocks of 3000, at a point that
	// moves with the content, observed between about 11,300 and 13,300
	// characters (slackapi/bolt-js#2509). The fake models it as 13,300 for
	// plain prose, falling to 11,300 as the share of markup and entity
	// characters (& ; < > * _ ~ ` and newlines) rises to one half.
	maxBlocksTextPlain  = 13300
	maxBlocksTextMarkup = 11300
)

// BlocksTextLimit is where the fake rejects text with
// msg_blocks_too_long: it depends on the content, see maxBlocksTextPlain.
func BlocksTextLimit(text string) int {
	n, markup := 0, 0
	for _, r := range text {
		n++
		if strings.ContainsRune("&;<>*_~`\n", r) {
			markup++
		}
	}
	if n == 0 {
		return maxBlocksTextPlain
	}
	share := min(1, 2*float64(markup)/float64(n))
	return maxBlocksTextPlain - int(share*float64(maxBlocksTextPlain-maxBlocksTextMarkup))
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

// CheckMessage checks a message the way Slack's chat.postMessage does,
// returning Slack's error code and detail messages, or "" when Slack would
// accept it. Renderer tests can use it without a server.
func CheckMessage(text string, blocks json.RawMessage) (string, []string) {
	if runeLen(text) > maxMessageText {
		return "msg_too_long", nil
	}
	if len(blocks) == 0 {
		if strings.TrimSpace(text) == "" {
			return "no_text", nil
		}
		return "", nil
	}
	var bs []struct {
		Type     string            `json:"type"`
		Text     *textObject       `json:"text"`
		Fields   []textObject      `json:"fields"`
		Elements []json.RawMessage `json:"elements"`
	}
	if err := json.Unmarshal(blocks, &bs); err != nil {
		return "invalid_blocks_format", []string{err.Error()}
	}
	var errs []string
	total := 0
	var all strings.Builder
	bad := func(i int, format string, args ...any) {
		errs = append(errs, fmt.Sprintf(format, args...)+fmt.Sprintf(" [json-pointer:/blocks/%d]", i))
	}
	if len(bs) > maxBlocks {
		errs = append(errs, fmt.Sprintf("no more than %d items allowed [json-pointer:/blocks]", maxBlocks))
	}
	for i, b := range bs {
		if b.Text != nil {
			total += runeLen(b.Text.Text)
			all.WriteString(b.Text.Text)
		}
		for _, f := range b.Fields {
			total += runeLen(f.Text)
			all.WriteString(f.Text)
		}
		for _, raw := range b.Elements {
			var t textObject
			if json.Unmarshal(raw, &t) == nil {
				total += runeLen(t.Text)
				all.WriteString(t.Text)
			}
		}
		switch b.Type {
		case "header":
			if b.Text == nil || b.Text.Type != "plain_text" {
				bad(i, "must provide a plain_text object")
			} else if n := runeLen(b.Text.Text); n == 0 || n > maxHeaderText {
				bad(i, "must be between 1 and %d characters", maxHeaderText)
			}
		case "section":
			if b.Text == nil && len(b.Fields) == 0 {
				bad(i, "must provide either text or fields")
			}
			if b.Text != nil && (runeLen(b.Text.Text) == 0 || runeLen(b.Text.Text) > maxSectionText) {
				bad(i, "must be between 1 and %d characters", maxSectionText)
			}
			if len(b.Fields) > maxFields {
				bad(i, "no more than %d fields allowed", maxFields)
			}
			for _, f := range b.Fields {
				if n := runeLen(f.Text); n == 0 || n > maxFieldText {
					bad(i, "field must be between 1 and %d characters", maxFieldText)
				}
			}
		case "context":
			if len(b.Elements) == 0 || len(b.Elements) > maxContextElems {
				bad(i, "must provide between 1 and %d elements", maxContextElems)
			}
			for _, raw := range b.Elements {
				var t textObject
				if json.Unmarshal(raw, &t) == nil && runeLen(t.Text) > maxSectionText {
					bad(i, "element text must be at most %d characters", maxSectionText)
				}
			}
		case "divider":
		case "actions":
			// Slack: 1 to 25 elements; a button's text is plain_text of at
			// most 75 characters, its action_id at most 255.
			if len(b.Elements) == 0 || len(b.Elements) > 25 {
				bad(i, "must provide between 1 and 25 elements")
			}
			for _, raw := range b.Elements {
				var btn struct {
					Type     string     `json:"type"`
					Text     textObject `json:"text"`
					ActionID string     `json:"action_id"`
					Style    string     `json:"style"`
				}
				if json.Unmarshal(raw, &btn) != nil || btn.Type != "button" || btn.Text.Type != "plain_text" ||
					runeLen(btn.Text.Text) == 0 || runeLen(btn.Text.Text) > 75 || len(btn.ActionID) > 255 ||
					(btn.Style != "" && btn.Style != "primary" && btn.Style != "danger") {
					bad(i, "invalid button")
				}
			}
		default:
			bad(i, "unsupported block type %q", b.Type)
		}
	}
	if len(errs) > 0 {
		return "invalid_blocks", errs
	}
	if total > BlocksTextLimit(all.String()) {
		return "msg_blocks_too_long", nil
	}
	return "", nil
}

// checkMessage is CheckMessage with the server's optional fixed limit.
func (s *Server) checkMessage(text string, blocks json.RawMessage) (string, []string) {
	code, details := CheckMessage(text, blocks)
	s.mu.Lock()
	limit := s.blocksLimit
	s.mu.Unlock()
	if code == "" && limit > 0 && blocksTextLen(blocks) > limit {
		return "msg_blocks_too_long", nil
	}
	return code, details
}

func blocksTextLen(blocks json.RawMessage) int {
	var bs []struct {
		Text     *textObject       `json:"text"`
		Fields   []textObject      `json:"fields"`
		Elements []json.RawMessage `json:"elements"`
	}
	_ = json.Unmarshal(blocks, &bs)
	n := 0
	for _, b := range bs {
		if b.Text != nil {
			n += runeLen(b.Text.Text)
		}
		for _, f := range b.Fields {
			n += runeLen(f.Text)
		}
		for _, raw := range b.Elements {
			var t textObject
			if json.Unmarshal(raw, &t) == nil {
				n += runeLen(t.Text)
			}
		}
	}
	return n
}

type textObject struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

func runeLen(s string) int { return len([]rune(s)) }

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
