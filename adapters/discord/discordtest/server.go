// Package discordtest is an in-process fake Discord for testing clients
// built on discordgo: GET /gateway, the gateway websocket (HELLO,
// IDENTIFY, READY, heartbeats, RESUME, dispatched MESSAGE_CREATE and
// INTERACTION_CREATE), the REST endpoints a bot replies with, Discord's
// limits and 429 answers, and dropped or silent connections.
package discordtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// HeartbeatInterval is what HELLO asks clients to heartbeat at.
const HeartbeatInterval = 100 * time.Millisecond

// Post is a message the bot created or edited, or an interaction answer.
type Post struct {
	// Kind is "create", "edit", "callback", "followup" or "edit-original".
	Kind      string
	ChannelID string
	MessageID string
	// ReplyTo is the referenced message id (message_reference).
	ReplyTo string
	Content string
	// CallbackType is the interaction response type, for "callback".
	CallbackType int
}

// Server is the fake.
type Server struct {
	// Token is the accepted bot token; BotID and AppID identify the bot.
	Token, BotID, AppID string

	srv      *httptest.Server
	upgrader websocket.Upgrader

	mu         sync.Mutex
	nextID     int64
	conns      map[*gwConn]bool
	identifies int
	intents    int
	resumes    int
	silent     bool
	fail       []int // statuses for the next REST writes (429 with retry_after)
	limited    int   // 429 answers served
	commands   []json.RawMessage
	posts      chan Post
	changed    chan struct{}
}

// New starts a fake.
func New() *Server {
	s := &Server{Token: "discord-test-token", BotID: "1000", AppID: "2000", nextID: 5000,
		conns: map[*gwConn]bool{}, posts: make(chan Post, 256), changed: make(chan struct{}),
		upgrader: websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}}
	s.srv = httptest.NewServer(s.routes())
	return s
}

// URL is the base URL for Config.APIURL.
func (s *Server) URL() string { return s.srv.URL }

// Close stops the server.
func (s *Server) Close() {
	s.DropConnections()
	s.srv.Close()
}

func (s *Server) id() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	return fmt.Sprint(s.nextID)
}

func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// WaitSessions waits until the gateway has seen n IDENTIFY or RESUME.
func (s *Server) WaitSessions(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		c, ch := s.identifies+s.resumes, s.changed
		s.mu.Unlock()
		if c >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for gateway session %d (have %d): %w", n, c, ctx.Err())
		}
	}
}

// Counts returns how many IDENTIFY and RESUME the gateway received.
func (s *Server) Counts() (identifies, resumes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.identifies, s.resumes
}

// NextPost waits for the bot's next message, edit or interaction answer.
func (s *Server) NextPost(ctx context.Context) (Post, error) {
	select {
	case p := <-s.posts:
		return p, nil
	case <-ctx.Done():
		return Post{}, fmt.Errorf("waiting for the bot's post: %w", ctx.Err())
	}
}

// Commands returns the application commands the bot registered.
func (s *Server) Commands() []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commands
}

// RateLimitNext makes the next n REST writes answer 429 with retry_after.
func (s *Server) RateLimitNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fail = append(s.fail, http.StatusTooManyRequests)
	}
}

// RateLimited returns how many 429 answers the fake has served.
func (s *Server) RateLimited() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limited
}

// SetSilent stops the gateway from acknowledging heartbeats and sending
// events, without closing connections.
func (s *Server) SetSilent(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.silent = on
}

func (s *Server) isSilent() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.silent
}

// DropConnections closes every gateway connection abruptly.
func (s *Server) DropConnections() {
	s.mu.Lock()
	var cs []*gwConn
	for c := range s.conns {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	for _, c := range cs {
		_ = c.ws.Close()
	}
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	// discordgo adds "/" to the gateway URL before its query, so the
	// gateway lives at the root.
	mux.HandleFunc("GET /{$}", s.serveGateway)
	mux.HandleFunc("GET /api/v9/gateway", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, map[string]string{"url": "ws" + strings.TrimPrefix(s.srv.URL, "http")})
	})
	api := http.NewServeMux()
	api.HandleFunc("POST /api/v9/channels/{cid}/messages", s.createMessage)
	api.HandleFunc("PATCH /api/v9/channels/{cid}/messages/{mid}", s.editMessage)
	api.HandleFunc("POST /api/v9/interactions/{iid}/{token}/callback", s.callback)
	api.HandleFunc("PATCH /api/v9/webhooks/{app}/{token}/messages/{mid}", s.editWebhookMessage)
	api.HandleFunc("POST /api/v9/webhooks/{app}/{token}", s.followup)
	api.HandleFunc("PUT /api/v9/applications/{app}/commands", s.overwriteCommands)
	mux.Handle("/api/v9/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Interaction callbacks and webhooks authenticate by their token.
		if !strings.Contains(r.URL.Path, "/interactions/") && !strings.Contains(r.URL.Path, "/webhooks/") && r.Header.Get("Authorization") != "Bot "+s.Token {
			writeJSON(w, 401, map[string]any{"message": "401: Unauthorized", "code": 0})
			return
		}
		if r.Method != http.MethodGet && s.takeFailure(w) {
			return
		}
		api.ServeHTTP(w, r)
	}))
	return mux
}

func (s *Server) takeFailure(w http.ResponseWriter) bool {
	s.mu.Lock()
	if len(s.fail) == 0 {
		s.mu.Unlock()
		return false
	}
	s.fail = s.fail[1:]
	s.limited++
	s.mu.Unlock()
	w.Header().Set("Retry-After", "1")
	w.Header().Set("X-RateLimit-Limit", "5")
	w.Header().Set("X-RateLimit-Remaining", "0")
	w.Header().Set("X-RateLimit-Reset-After", "0.050")
	w.Header().Set("X-RateLimit-Bucket", "fake-bucket")
	w.Header().Set("X-RateLimit-Scope", "user")
	writeJSON(w, 429, map[string]any{"message": "You are being rate limited.", "retry_after": 0.05, "global": false})
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// tooLong answers like Discord for content over 2000 characters.
func tooLong(w http.ResponseWriter, content string) bool {
	if utf8.RuneCountInString(content) <= 2000 {
		return false
	}
	writeJSON(w, 400, map[string]any{"code": 50035, "message": "Invalid Form Body", "errors": map[string]any{
		"content": map[string]any{"_errors": []map[string]string{{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}}}}})
	return true
}

type messageBody struct {
	Content   string `json:"content"`
	Reference *struct {
		MessageID string `json:"message_id"`
	} `json:"message_reference"`
}

func (s *Server) messageJSON(id, channel, content string) map[string]any {
	return map[string]any{"id": id, "channel_id": channel, "content": content, "type": 0, "timestamp": time.Now().UTC().Format(time.RFC3339),
		"author": map[string]any{"id": s.BotID, "username": "chatops", "bot": true}, "mentions": []any{}, "attachments": []any{}, "embeds": []any{}}
}

func (s *Server) createMessage(w http.ResponseWriter, r *http.Request) {
	var b messageBody
	_ = json.NewDecoder(r.Body).Decode(&b)
	if tooLong(w, b.Content) {
		return
	}
	id := s.id()
	p := Post{Kind: "create", ChannelID: r.PathValue("cid"), MessageID: id, Content: b.Content}
	if b.Reference != nil {
		p.ReplyTo = b.Reference.MessageID
	}
	s.posts <- p
	writeJSON(w, 200, s.messageJSON(id, p.ChannelID, b.Content))
}

func (s *Server) editMessage(w http.ResponseWriter, r *http.Request) {
	var b messageBody
	_ = json.NewDecoder(r.Body).Decode(&b)
	if tooLong(w, b.Content) {
		return
	}
	s.posts <- Post{Kind: "edit", ChannelID: r.PathValue("cid"), MessageID: r.PathValue("mid"), Content: b.Content}
	writeJSON(w, 200, s.messageJSON(r.PathValue("mid"), r.PathValue("cid"), b.Content))
}

func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Type int `json:"type"`
	}
	_ = json.NewDecoder(r.Body).Decode(&b)
	s.posts <- Post{Kind: "callback", MessageID: r.PathValue("iid"), CallbackType: b.Type}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) editWebhookMessage(w http.ResponseWriter, r *http.Request) {
	var b messageBody
	_ = json.NewDecoder(r.Body).Decode(&b)
	if tooLong(w, b.Content) {
		return
	}
	kind := "edit-original"
	if r.PathValue("mid") != "@original" {
		kind = "edit"
	}
	s.posts <- Post{Kind: kind, MessageID: r.PathValue("mid"), Content: b.Content}
	writeJSON(w, 200, s.messageJSON(s.id(), "", b.Content))
}

func (s *Server) followup(w http.ResponseWriter, r *http.Request) {
	var b messageBody
	_ = json.NewDecoder(r.Body).Decode(&b)
	if tooLong(w, b.Content) {
		return
	}
	id := s.id()
	s.posts <- Post{Kind: "followup", MessageID: id, Content: b.Content}
	writeJSON(w, 200, s.messageJSON(id, "", b.Content))
}

func (s *Server) overwriteCommands(w http.ResponseWriter, r *http.Request) {
	var cmds []json.RawMessage
	_ = json.NewDecoder(r.Body).Decode(&cmds)
	s.mu.Lock()
	s.commands = cmds
	s.mu.Unlock()
	writeJSON(w, 200, cmds)
}
