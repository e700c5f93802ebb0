package discordtest

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Intent bits the fake cares about (Discord's values).
const (
	IntentGuilds         = 1 << 0
	IntentGuildMessages  = 1 << 9
	IntentDirectMessages = 1 << 12
	// IntentMessageContent is privileged: IDENTIFY with it closes the
	// connection with 4014 unless EnablePrivilegedIntents allowed it, as a
	// bot whose developer-portal switch is off experiences.
	IntentMessageContent = 1 << 15
	privilegedIntents    = 1<<1 | 1<<8 | IntentMessageContent
)

// gwConn is one gateway websocket.
type gwConn struct {
	ws   *websocket.Conn
	mu   sync.Mutex
	sess *session
	path string // the URL path it was dialled at
}

// session is a gateway session: it outlives connections and keeps the
// events dispatched to it so a RESUME can replay what was missed.
type session struct {
	id      string
	intents int
	seq     int
	log     []event // dispatched events, replayed on RESUME
	conn    *gwConn // live connection, nil while disconnected
}

type event struct {
	seq int
	t   string
	d   any
}

type payload struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d,omitempty"`
	S  *int            `json:"s,omitempty"`
	T  string          `json:"t,omitempty"`
}

func (c *gwConn) write(v any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteJSON(v)
}

func (c *gwConn) closeWith(code int, text string) {
	c.mu.Lock()
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
	c.mu.Unlock()
	_ = c.ws.Close()
}

func dispatchFrame(e event) map[string]any {
	return map[string]any{"op": 0, "s": e.seq, "t": e.t, "d": e.d}
}

func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	refused := s.refuse
	s.mu.Unlock()
	if refused {
		http.Error(w, "gateway unavailable", http.StatusServiceUnavailable)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer ws.Close()
	c := &gwConn{ws: ws, path: r.URL.Path}
	s.mu.Lock()
	s.open++
	s.maxOpen = max(s.maxOpen, s.open)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.open--
		if c.sess != nil && c.sess.conn == c {
			c.sess.conn = nil
		}
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	if c.write(map[string]any{"op": 10, "d": map[string]any{"heartbeat_interval": HeartbeatInterval.Milliseconds()}}) != nil {
		return
	}
	var first payload
	if ws.ReadJSON(&first) != nil {
		return
	}
	var auth struct {
		Token     string `json:"token"`
		SessionID string `json:"session_id"`
		Seq       int    `json:"seq"`
		Intents   int    `json:"intents"`
	}
	_ = json.Unmarshal(first.D, &auth)
	if strings.TrimPrefix(auth.Token, "Bot ") != s.Token {
		c.closeWith(4004, "Authentication failed.")
		return
	}
	switch first.Op {
	case 2:
		s.mu.Lock()
		allowed := s.privileged
		s.mu.Unlock()
		if auth.Intents&privilegedIntents&^allowed != 0 {
			c.closeWith(4014, "Disallowed intent(s).")
			return
		}
		sess := &session{id: "session-" + s.id(), intents: auth.Intents}
		s.mu.Lock()
		s.identifies++
		s.intents = auth.Intents
		s.sessions[sess.id] = sess
		s.notify()
		guilds := s.guilds
		s.mu.Unlock()
		ready := s.record(sess, "READY", map[string]any{
			"v": 10, "session_id": sess.id, "resume_gateway_url": "ws" + strings.TrimPrefix(s.srv.URL, "http") + ResumePath,
			"user":        map[string]any{"id": s.BotID, "username": "chatops", "discriminator": "0", "bot": true},
			"application": map[string]any{"id": s.AppID, "flags": 0},
			"guilds":      []any{}, "private_channels": []any{},
		})
		if c.write(dispatchFrame(ready)) != nil || !s.catchUp(c, sess, ready.seq, "") {
			return
		}
		for _, g := range guilds {
			s.dispatchTo(sess, "GUILD_CREATE", g)
		}
	case 6:
		s.mu.Lock()
		sess := s.sessions[auth.SessionID]
		if sess == nil || auth.Seq > sess.seq {
			s.mu.Unlock()
			// Not resumable: op 9 with d=false, then Discord closes.
			_ = c.write(map[string]any{"op": 9, "d": false})
			c.closeWith(4009, "Session timed out.")
			return
		}
		s.resumes++
		if strings.HasPrefix(c.path, ResumePath) {
			s.resumedVia++
		}
		s.notify()
		old := sess.conn
		sess.conn = nil
		s.mu.Unlock()
		if old != nil {
			_ = old.ws.Close()
		}
		// Replay what the session missed, in order, then RESUMED.
		if !s.catchUp(c, sess, auth.Seq, "RESUMED") {
			return
		}
	default:
		c.closeWith(4003, "Not authenticated.")
		return
	}
	for {
		var p payload
		if ws.ReadJSON(&p) != nil {
			return
		}
		if p.Op == 1 && !s.isSilent() {
			_ = c.write(map[string]any{"op": 11})
		}
	}
}

// catchUp sends c the events of sess after seq last (a RESUME's replay, or
// what was dispatched while READY was being sent), then the event final
// if any, and makes c the session's live connection, with no gap for
// events dispatched meanwhile.
func (s *Server) catchUp(c *gwConn, sess *session, last int, final string) bool {
	for {
		s.mu.Lock()
		var batch []event
		for _, e := range sess.log {
			if e.seq > last {
				batch = append(batch, e)
			}
		}
		if len(batch) == 0 {
			var fin []event
			if final != "" {
				sess.seq++
				e := event{seq: sess.seq, t: final, d: map[string]any{}}
				sess.log = append(sess.log, e)
				fin = append(fin, e)
			}
			c.sess = sess
			sess.conn = c
			s.conns[c] = true
			s.notify()
			s.mu.Unlock()
			for _, e := range fin {
				if c.write(dispatchFrame(e)) != nil {
					return false
				}
			}
			return true
		}
		s.mu.Unlock()
		for _, e := range batch {
			if c.write(dispatchFrame(e)) != nil {
				return false
			}
			last = e.seq
		}
	}
}

// record numbers an event in sess's log.
func (s *Server) record(sess *session, t string, d any) event {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess.seq++
	e := event{seq: sess.seq, t: t, d: d}
	sess.log = append(sess.log, e)
	return e
}

// dispatchTo records an event for sess and sends it if it is connected;
// otherwise a RESUME replays it.
func (s *Server) dispatchTo(sess *session, t string, d any) {
	e := s.record(sess, t, d)
	s.mu.Lock()
	c := sess.conn
	s.mu.Unlock()
	if c != nil && c.write(dispatchFrame(e)) != nil {
		_ = c.ws.Close()
	}
}

// Intents returns the intents of the last IDENTIFY.
func (s *Server) Intents() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.intents
}

// dispatch sends an event to every gateway session (live or waiting to be
// resumed), adapting it to each session's intents with shape.
func (s *Server) dispatch(t string, d map[string]any, shape func(intents int, d map[string]any) map[string]any) {
	if s.isSilent() {
		return
	}
	s.mu.Lock()
	var ss []*session
	for _, x := range s.sessions {
		ss = append(ss, x)
	}
	s.mu.Unlock()
	for _, x := range ss {
		dd := d
		if shape != nil {
			dd = shape(x.intents, d)
		}
		if dd != nil {
			s.dispatchTo(x, t, dd)
		}
	}
}

// Connected reports how many gateway clients are connected.
func (s *Server) Connected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// MaxConnected reports the most gateway websockets that were ever open at
// the same time: one bot should never hold more than one.
func (s *Server) MaxConnected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxOpen
}

// RequestReconnect sends op 7 Reconnect on every connection, as Discord
// does before it moves a session; clients should resume.
func (s *Server) RequestReconnect() {
	for _, c := range s.liveConns() {
		_ = c.write(map[string]any{"op": 7, "d": nil})
	}
}

// InvalidateSessions sends op 9 Invalid Session with d=resumable on every
// connection and closes them; with resumable false the sessions are gone
// and clients must IDENTIFY again.
func (s *Server) InvalidateSessions(resumable bool) {
	cs := s.liveConns()
	if !resumable {
		s.mu.Lock()
		clear(s.sessions)
		s.mu.Unlock()
	}
	for _, c := range cs {
		_ = c.write(map[string]any{"op": 9, "d": resumable})
	}
}

// CloseWith closes every gateway connection with a close code (4014
// disallowed intents, 4004 authentication failed, 4000 unknown error, ...).
func (s *Server) CloseWith(code int, text string) {
	for _, c := range s.liveConns() {
		c.closeWith(code, text)
	}
}

// RefuseConnections makes new gateway connections fail (HTTP 503) while on,
// as during an outage.
func (s *Server) RefuseConnections(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = on
}

// EnablePrivilegedIntents allows IDENTIFY with these privileged intents, as
// switching them on in the developer portal does.
func (s *Server) EnablePrivilegedIntents(mask int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.privileged = mask
}

// ResumedVia reports how many RESUMEs came in through resume_gateway_url.
func (s *Server) ResumedVia() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.resumedVia
}

func (s *Server) liveConns() []*gwConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	var cs []*gwConn
	for c := range s.conns {
		cs = append(cs, c)
	}
	return cs
}
