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
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

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
