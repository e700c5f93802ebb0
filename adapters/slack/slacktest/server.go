// Package slacktest is an in-process fake of the parts of Slack a Socket
// Mode bot uses: apps.connections.open and its websocket (hello, pings,
// envelopes, acks, disconnect), auth.test, chat.postMessage and
// chat.update. It speaks Slack's wire formats so the real slack-go client
// can be tested against it, and it lets tests misbehave like Slack does:
// rate limits, dropped and silent connections, redeliveries.
//
// It needs no *testing.T, so demos and benchmarks can use it too.
package slacktest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Defaults for the identities the fake hands out.
const (
	DefaultAppToken  = "xapp-1-A0FAKE-1-fakeapptoken"
	DefaultBotToken  = "xoxb-1-fakebottoken"
	DefaultBotUserID = "UBOT"
	DefaultBotID     = "BBOT"
	DefaultTeamID    = "TFAKE"
	DefaultAppID     = "AFAKE"
)

// Option configures a Server.
type Option func(*Server)

// WithPingInterval sets how often the fake pings each websocket (default
// 100ms, so clients with short liveness bounds stay happy).
func WithPingInterval(d time.Duration) Option { return func(s *Server) { s.pingEvery = d } }

// WithSpread makes the fake spread envelopes over the live connections in
// turn, as Slack does over an app's open connections (up to 10: one per
// replica), and send a redelivery to another connection than the one that
// carried the envelope, when there is another. Without it every envelope
// goes to the newest connection.
func WithSpread() Option { return func(s *Server) { s.spread = true } }

// WithDisconnectGrace sets how long a connection stays open after Disconnect
// sent its disconnect frame before the fake closes it (default 10s: Slack's
// warning says the connection closes in about 10 seconds). Envelopes still
// go to it meanwhile, as long as no newer connection is open.
func WithDisconnectGrace(d time.Duration) Option { return func(s *Server) { s.disconnectGrace = d } }

// WithUndeliveredRetry makes an envelope that found no open connection wait
// d before the fake tries it again, as Slack retries an undelivered event
// only after a delay (about a minute for the first retry), instead of
// sending it the moment the next connection opens (the default, 0). With
// it, a client that leaves a gap between connections answers late.
func WithUndeliveredRetry(d time.Duration) Option { return func(s *Server) { s.undeliveredRetry = d } }

// WithTokens sets the app-level and bot tokens the fake accepts.
func WithTokens(app, bot string) Option {
	return func(s *Server) { s.AppToken, s.BotToken = app, bot }
}

// Server is the fake Slack. Its exported fields are the identities it uses;
// read them, do not change them after New.
type Server struct {
	AppToken, BotToken string
	BotUserID, BotID   string
	TeamID, AppID      string

	pingEvery time.Duration
	srv       *httptest.Server
	upgrader  websocket.Upgrader

	mu               sync.Mutex
	changed          chan struct{}  // closed and replaced on every state change
	conns            []*wsConn      // live connections, oldest first
	opened           int            // websocket connections that got their hello
	pending          []pendingFrame // envelopes waiting for a connection
	spans            []ConnSpan     // every connection's life, by serial
	disconnectGrace  time.Duration
	undeliveredRetry time.Duration
	envelopes        map[string]envelope
	acks             map[string]Ack
	posts            []Post
	ephemerals       []Ephemeral
	readPos          int
	limits           map[string][]int     // method -> Retry-After seconds of the next 429s
	limitedUntil     map[string]time.Time // method -> end of its current 429
	limited          []Limited
	outside          map[string]bool         // channels the bot is not a member of
	responses        map[string]*responseURL // by response_url path
	refusedResponses int
	offset           time.Duration // the fake clock's advance over real time
	seq              int
	closed           bool
	blocksLimit      int // a fixed msg_blocks_too_long limit, 0 for Slack's content-dependent one
	spread           bool
	noDM             map[string]string // user -> conversations.open error
	dmOpens          int
	turn             int // the next connection in turn, when spread
	serials          int // connections numbered so far
}

// New starts a fake Slack on a loopback port.
func New(opts ...Option) *Server {
	s := &Server{
		AppToken: DefaultAppToken, BotToken: DefaultBotToken,
		BotUserID: DefaultBotUserID, BotID: DefaultBotID,
		TeamID: DefaultTeamID, AppID: DefaultAppID,
		pingEvery:       100 * time.Millisecond,
		disconnectGrace: 10 * time.Second,
		changed:         make(chan struct{}),
		envelopes:       map[string]envelope{},
		acks:            map[string]Ack{},
		limits:          map[string][]int{},
		limitedUntil:    map[string]time.Time{},
		outside:         map[string]bool{},
		responses:       map[string]*responseURL{},
	}
	for _, o := range opts {
		o(s)
	}
	// Slack's client sends Origin: https://api.slack.com; accept any origin.
	s.upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.serveAPI)
	mux.HandleFunc("/link/", s.serveSocket)
	mux.HandleFunc("/commands/", s.serveResponseURL)
	s.srv = httptest.NewServer(mux)
	return s
}

// APIURL is the Web API base URL, ending in "/" as slack.OptionAPIURL needs.
func (s *Server) APIURL() string { return s.srv.URL + "/api/" }

// Close drops every connection and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	conns := s.conns
	s.conns = nil
	for _, c := range conns {
		s.endSpanLocked(c)
	}
	s.notifyLocked()
	s.mu.Unlock()
	for _, c := range conns {
		c.kill()
	}
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// notifyLocked wakes every waiter; s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitFor blocks until cond (called with s.mu held) is true or ctx ends.
func (s *Server) waitFor(ctx context.Context, what string, cond func() bool) error {
	for {
		s.mu.Lock()
		if cond() {
			s.mu.Unlock()
			return nil
		}
		if s.closed {
			s.mu.Unlock()
			return errors.New("slacktest: server closed while waiting for " + what)
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("slacktest: waiting for %s: %w", what, ctx.Err())
		}
	}
}

// nextTS returns a fresh Slack message timestamp ("seconds.micros").
func (s *Server) nextTS() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nextTSLocked()
}

func (s *Server) nextTSLocked() string {
	s.seq++
	return fmt.Sprintf("%d.%06d", 1700000000+s.seq/1000000, s.seq%1000000)
}

func (s *Server) nextID(prefix string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return fmt.Sprintf("%s%08d", prefix, s.seq)
}

// Connections reports how many websocket connections have been opened (each
// got its hello), including ones closed since.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opened
}

// WaitConnections waits until at least n websocket connections have been
// opened and one of them is live.
func (s *Server) WaitConnections(ctx context.Context, n int) error {
	return s.waitFor(ctx, fmt.Sprintf("connection #%d", n), func() bool {
		return s.opened >= n && len(s.conns) > 0
	})
}

// DropConnections closes every live websocket abruptly (no close frame), as
// a network failure would.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := s.conns
	s.conns = nil
	for _, c := range conns {
		s.endSpanLocked(c)
	}
	s.notifyLocked()
	s.mu.Unlock()
	for _, c := range conns {
		c.kill()
	}
}

// GoSilent makes every live connection stop sending anything (pings,
// envelopes) while staying open, as a half-dead connection does. Envelopes
// sent meanwhile wait for the next connection. New connections behave.
func (s *Server) GoSilent() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.silent.Store(true)
	}
	s.notifyLocked()
}

// Disconnect sends Slack's disconnect frame (reason "warning",
// "refresh_requested" or "link_disabled") on every live connection and
// closes each of them after the disconnect grace (WithDisconnectGrace), as
// Slack does. Until then the connection still carries envelopes when it is
// the newest; a client that opens its next connection within the grace
// misses nothing.
func (s *Server) Disconnect(reason string) {
	frame := fmt.Appendf(nil, `{"type":"disconnect","reason":%q,"debug_info":{"host":"slacktest"}}`, reason)
	s.mu.Lock()
	conns := append([]*wsConn(nil), s.conns...)
	grace := s.disconnectGrace
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.write(frame)
		time.AfterFunc(grace, func() { s.remove(c) })
	}
}

// ConnSpan is one websocket connection's life as the fake saw it.
type ConnSpan struct {
	// Serial numbers connections from 1 in the order they opened.
	Serial int
	// Opened is when its hello was sent; Closed when it ended (by either
	// side), zero while it is open.
	Opened, Closed time.Time
}

// Spans returns every connection's life so far, oldest first.
func (s *Server) Spans() []ConnSpan {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ConnSpan(nil), s.spans...)
}

// Slack's documented response_url rules.
const (
	ResponseURLUses     = 5
	ResponseURLLifetime = 30 * time.Minute
)

// responseURL is a slash command's response_url as Slack tracks it.
type responseURL struct {
	channel string
	created time.Time
	uses    int
}

// Advance moves the fake's clock forward (response URLs expire by it).
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset += d
}

func (s *Server) now() time.Time { return time.Now().Add(s.offset) }

// RefusedResponses reports how many response_url calls the fake refused
// (used up, expired or unknown).
func (s *Server) RefusedResponses() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refusedResponses
}

// LimitBlocksText makes the fake reject messages whose blocks hold more
// than n characters of text with msg_blocks_too_long (0 restores the
// content-dependent limit), as Slack's moving limit can.
func (s *Server) LimitBlocksText(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blocksLimit = n
}

// RefuseDM makes conversations.open with user fail with Slack's error
// code ("user_not_found", "user_disabled", "cannot_dm_bot", ...), as
// Slack answers for users the bot cannot write to.
func (s *Server) RefuseDM(user, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.noDM == nil {
		s.noDM = map[string]string{}
	}
	s.noDM[user] = code
}

// DMOpens counts conversations.open calls.
func (s *Server) DMOpens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dmOpens
}

// NotInChannel makes chat.postMessage to channel fail with not_in_channel,
// as Slack answers for channels the bot was never invited to.
func (s *Server) NotInChannel(channel string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outside[channel] = true
}

// RateLimit makes the next call of method (e.g. "chat.postMessage") answer
// HTTP 429 with a Retry-After of retryAfter seconds. Calls stack.
func (s *Server) RateLimit(method string, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits[method] = append(s.limits[method], retryAfter)
}

// Limited records a 429 the fake served.
type Limited struct {
	Method     string
	RetryAfter time.Duration
	At         time.Time
	// Ignored marks a call made while the method was still limited by an
	// earlier 429: the client did not honour its Retry-After.
	Ignored bool
}

// RateLimited returns the 429s served so far.
func (s *Server) RateLimited() []Limited {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Limited(nil), s.limited...)
}

// WaitRateLimited waits until the fake has served at least n 429s.
func (s *Server) WaitRateLimited(ctx context.Context, n int) error {
	return s.waitFor(ctx, fmt.Sprintf("429 #%d", n), func() bool { return len(s.limited) >= n })
}

// tokenOf finds the token of a Web API request: the form field Slack's
// clients send, or a Bearer header.
func tokenOf(r *http.Request) string {
	if t := r.FormValue("token"); t != "" {
		return t
	}
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
}
