// Package discordtest is an in-process fake Discord for testing bots:
// GET /gateway(/bot), the gateway websocket (HELLO, IDENTIFY with
// privileged-intent checks and close code 4014, READY with
// resume_gateway_url, heartbeats, RESUME replaying missed events, op 7
// Reconnect, op 9 Invalid Session, GUILD_CREATE with the bot's managed
// role, MESSAGE_CREATE blanked without the Message Content intent as
// Discord does, INTERACTION_CREATE), the REST endpoints a bot replies with,
// interaction rules (one callback within 3 seconds, tokens valid for 15
// minutes of an injectable clock), DM channels (POST /users/@me/channels,
// users who refuse the bot's DMs), Discord's limits and 429 answers, and
// dropped, refused or silent connections.
package discordtest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
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
	// Components is the message components JSON as sent ("" when absent,
	// "[]" when cleared), and Flags the message flags (64: ephemeral).
	Components string
	Flags      int
	// AllowedMentions is the allowed_mentions JSON as sent ("" when
	// absent): what Discord may notify of the content's mentions.
	AllowedMentions string
}

// Server is the fake.
type Server struct {
	// Token is the accepted bot token; BotID and AppID identify the bot.
	Token, BotID, AppID string

	srv      *httptest.Server
	upgrader websocket.Upgrader

	mu            sync.Mutex
	nextID        int64
	conns         map[*gwConn]bool
	sessions      map[string]*session
	open, maxOpen int
	identifies    int
	intents       int
	resumes       int
	resumedVia    int
	privileged    int
	refuse        bool
	silent        bool
	guilds        []map[string]any
	botRoles      map[string]string // guild -> the bot's managed role
	interactions  map[string]*interaction
	offset        time.Duration // the fake clock's advance over real time
	fail          []failure     // answers for the next REST writes
	limited       int           // 429 answers served
	rejected      []Post        // writes the fake refused (4xx other than 429)
	noAccess      map[string]bool
	commands      []json.RawMessage
	dms           *dmState
	posts         chan Post
	changed       chan struct{}
}

// failure is an injected answer: a 429 with retry_after, or another status.
type failure struct {
	status     int
	retryAfter time.Duration
	path       string // only requests whose path contains it; "" for all
}

// interaction is what Discord remembers about an interaction token.
type interaction struct {
	id        string
	created   time.Time
	channel   string
	responded bool
}

// ResumePath is where READY's resume_gateway_url points, so tests can tell
// a resume through it from one through the regular gateway URL.
const ResumePath = "/resume-gateway"

// Interaction limits, as Discord documents them.
const (
	InitialResponseWindow = 3 * time.Second
	TokenLifetime         = 15 * time.Minute
)

// New starts a fake.
func New() *Server {
	s := &Server{Token: "discord-test-token", BotID: "1000", AppID: "2000", nextID: 5000,
		conns: map[*gwConn]bool{}, sessions: map[string]*session{}, botRoles: map[string]string{},
		interactions: map[string]*interaction{}, noAccess: map[string]bool{}, posts: make(chan Post, 256), changed: make(chan struct{}),
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
func (s *Server) RateLimitNext(n int) { s.RateLimitNextFor(n, 50*time.Millisecond) }

// RateLimitNextFor makes the next n REST writes answer 429 asking the
// client to wait retryAfter.
func (s *Server) RateLimitNextFor(n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fail = append(s.fail, failure{status: http.StatusTooManyRequests, retryAfter: retryAfter})
	}
}

// FailNext makes the next n REST writes whose path contains path (e.g.
// "/webhooks/") answer status (e.g. 500).
func (s *Server) FailNext(n int, path string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fail = append(s.fail, failure{status: status, path: path})
	}
}

// NoAccess makes message creation in channel fail with 403 Missing Access,
// as for a channel the bot cannot see or post in.
func (s *Server) NoAccess(channel string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noAccess[channel] = true
}

// Rejected returns the writes the fake refused with a client error (other
// than 429), e.g. a post into a channel the bot may not post in.
func (s *Server) Rejected() []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Post(nil), s.rejected...)
}

// Advance moves the fake's clock forward (interaction tokens expire by it).
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset += d
}

// Now is the fake's clock: real time plus every Advance.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

func (s *Server) now() time.Time { return time.Now().Add(s.offset) }

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
	mux.HandleFunc("GET "+ResumePath+"/{$}", s.serveGateway)
	mux.HandleFunc("GET /api/v9/gateway", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, map[string]string{"url": "ws" + strings.TrimPrefix(s.srv.URL, "http")})
	})
	api := http.NewServeMux()
	api.HandleFunc("GET /api/v9/gateway/bot", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, map[string]any{"url": "ws" + strings.TrimPrefix(s.srv.URL, "http"), "shards": 1,
			"session_start_limit": map[string]any{"total": 1000, "remaining": 999, "reset_after": 14400000, "max_concurrency": 1}})
	})
	api.HandleFunc("GET /api/v9/users/@me", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, map[string]any{"id": s.BotID, "username": "chatops", "discriminator": "0", "bot": true})
	})
	api.HandleFunc("POST /api/v9/channels/{cid}/messages", s.createMessage)
	api.HandleFunc("PATCH /api/v9/channels/{cid}/messages/{mid}", s.editMessage)
	api.HandleFunc("POST /api/v9/interactions/{iid}/{token}/callback", s.callback)
	api.HandleFunc("PATCH /api/v9/webhooks/{app}/{token}/messages/{mid}", s.editWebhookMessage)
	api.HandleFunc("POST /api/v9/webhooks/{app}/{token}", s.followup)
	api.HandleFunc("PUT /api/v9/applications/{app}/commands", s.overwriteCommands)
	api.HandleFunc("POST /api/v9/users/@me/channels", s.createDM)
	mux.Handle("/api/v9/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Interaction callbacks and webhooks authenticate by their token.
		if !strings.Contains(r.URL.Path, "/interactions/") && !strings.Contains(r.URL.Path, "/webhooks/") && r.Header.Get("Authorization") != "Bot "+s.Token {
			writeJSON(w, 401, map[string]any{"message": "401: Unauthorized", "code": 0})
			return
		}
		if r.Method != http.MethodGet && s.takeFailure(w, r) {
			return
		}
		api.ServeHTTP(w, r)
	}))
	return mux
}

func (s *Server) takeFailure(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	i := slices.IndexFunc(s.fail, func(f failure) bool { return strings.Contains(r.URL.Path, f.path) })
	if i < 0 {
		s.mu.Unlock()
		return false
	}
	f := s.fail[i]
	s.fail = slices.Delete(s.fail, i, i+1)
	if f.status != http.StatusTooManyRequests {
		s.mu.Unlock()
		writeJSON(w, f.status, map[string]any{"message": http.StatusText(f.status), "code": 0})
		return true
	}
	s.limited++
	s.mu.Unlock()
	secs := f.retryAfter.Seconds()
	w.Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(secs))))
	w.Header().Set("X-RateLimit-Limit", "5")
	w.Header().Set("X-RateLimit-Remaining", "0")
	w.Header().Set("X-RateLimit-Reset-After", "0.050")
	w.Header().Set("X-RateLimit-Bucket", "fake-bucket")
	w.Header().Set("X-RateLimit-Scope", "user")
	writeJSON(w, 429, map[string]any{"message": "You are being rate limited.", "retry_after": secs, "global": false})
	return true
}

// discordErr answers with Discord's JSON error shape.
func discordErr(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{"message": msg, "code": code})
}

// webhookToken checks an interaction token for the webhook endpoints:
// unknown or older than 15 minutes is 401 Invalid Webhook Token, and the
// original response cannot be edited before the interaction was answered.
func (s *Server) webhookToken(w http.ResponseWriter, token string, original bool) bool {
	s.mu.Lock()
	in := s.interactions[token]
	ok := in != nil && s.now().Sub(in.created) <= TokenLifetime
	answered := in != nil && in.responded
	s.mu.Unlock()
	if !ok {
		discordErr(w, http.StatusUnauthorized, 50027, "Invalid Webhook Token")
		return false
	}
	if original && !answered {
		discordErr(w, http.StatusNotFound, 10008, "Unknown Message")
		return false
	}
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
	Content         string          `json:"content"`
	Components      json.RawMessage `json:"components"`
	Flags           int             `json:"flags"`
	AllowedMentions json.RawMessage `json:"allowed_mentions"`
	Reference       *struct {
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
	s.mu.Lock()
	denied := s.noAccess[r.PathValue("cid")]
	refused := s.dmRefusedLocked(r.PathValue("cid"))
	if denied || refused {
		s.rejected = append(s.rejected, Post{Kind: "create", ChannelID: r.PathValue("cid"), Content: b.Content})
	}
	s.mu.Unlock()
	if denied {
		discordErr(w, http.StatusForbidden, 50001, "Missing Access")
		return
	}
	if refused {
		discordErr(w, http.StatusForbidden, 50007, "Cannot send messages to this user")
		return
	}
	id := s.id()
	p := Post{Kind: "create", ChannelID: r.PathValue("cid"), MessageID: id, Content: b.Content, Components: string(b.Components), Flags: b.Flags,
		AllowedMentions: string(b.AllowedMentions)}
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
	s.posts <- Post{Kind: "edit", ChannelID: r.PathValue("cid"), MessageID: r.PathValue("mid"), Content: b.Content, Components: string(b.Components),
		AllowedMentions: string(b.AllowedMentions)}
	writeJSON(w, 200, s.messageJSON(r.PathValue("mid"), r.PathValue("cid"), b.Content))
}

func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Type int `json:"type"`
	}
	_ = json.NewDecoder(r.Body).Decode(&b)
	s.mu.Lock()
	in := s.interactions[r.PathValue("token")]
	status, code, msg := 0, 0, ""
	switch {
	case in == nil || in.id != r.PathValue("iid") || s.now().Sub(in.created) > InitialResponseWindow:
		status, code, msg = http.StatusNotFound, 10062, "Unknown interaction"
	case in.responded:
		status, code, msg = http.StatusBadRequest, 40060, "Interaction has already been acknowledged."
	default:
		in.responded = true
	}
	if status != 0 {
		s.rejected = append(s.rejected, Post{Kind: "callback", MessageID: r.PathValue("iid"), CallbackType: b.Type})
	}
	s.mu.Unlock()
	if status != 0 {
		discordErr(w, status, code, msg)
		return
	}
	s.posts <- Post{Kind: "callback", MessageID: r.PathValue("iid"), CallbackType: b.Type}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) editWebhookMessage(w http.ResponseWriter, r *http.Request) {
	var b messageBody
	_ = json.NewDecoder(r.Body).Decode(&b)
	if tooLong(w, b.Content) || !s.webhookToken(w, r.PathValue("token"), r.PathValue("mid") == "@original") {
		return
	}
	kind := "edit-original"
	if r.PathValue("mid") != "@original" {
		kind = "edit"
	}
	s.posts <- Post{Kind: kind, MessageID: r.PathValue("mid"), Content: b.Content, Components: string(b.Components), AllowedMentions: string(b.AllowedMentions)}
	writeJSON(w, 200, s.messageJSON(s.id(), "", b.Content))
}

func (s *Server) followup(w http.ResponseWriter, r *http.Request) {
	var b messageBody
	_ = json.NewDecoder(r.Body).Decode(&b)
	if tooLong(w, b.Content) || !s.webhookToken(w, r.PathValue("token"), true) {
		return
	}
	id := s.id()
	s.posts <- Post{Kind: "followup", MessageID: id, Content: b.Content, Components: string(b.Components), Flags: b.Flags,
		AllowedMentions: string(b.AllowedMentions)}
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
