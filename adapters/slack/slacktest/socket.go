package slacktest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// wsConn is one Socket Mode websocket.
type wsConn struct {
	// serial numbers connections in the order they were opened, from 1.
	serial int
	ws     *websocket.Conn
	wmu    sync.Mutex // gorilla allows one writer at a time
	silent atomic.Bool
	done   chan struct{}
	once   sync.Once
}

func (c *wsConn) write(frame []byte) error {
	if c.silent.Load() {
		return fmt.Errorf("slacktest: connection is silent")
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteMessage(websocket.TextMessage, frame)
}

// kill closes the TCP connection without a close frame.
func (c *wsConn) kill() {
	c.once.Do(func() {
		close(c.done)
		_ = c.ws.UnderlyingConn().Close()
	})
}

// envelope is one Socket Mode envelope as sent, kept for redelivery.
type envelope struct {
	Type    string          `json:"type"`
	ID      string          `json:"envelope_id"`
	Payload json.RawMessage `json:"payload"`
	// AcceptsResponsePayload is true for slash commands and interactions.
	AcceptsResponsePayload bool   `json:"accepts_response_payload"`
	RetryAttempt           int    `json:"retry_attempt"`
	RetryReason            string `json:"retry_reason"`
	sentAt                 time.Time
	// carrier is the serial of the connection it was written to (0 while
	// queued for the next connection).
	carrier int
}

// Ack is an acknowledgement the client sent for an envelope.
type Ack struct {
	EnvelopeID string
	// Payload is the ack's payload, if any (slash commands may answer with
	// a message).
	Payload json.RawMessage
	// SentAt is when the envelope was sent, AckedAt when its ack arrived.
	SentAt, AckedAt time.Time
}

// serveSocket is the Socket Mode websocket endpoint the URL from
// apps.connections.open points to.
func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("ticket") == "" {
		http.Error(w, "missing ticket", http.StatusUnauthorized)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &wsConn{ws: ws, done: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.kill()
		return
	}
	s.serials++
	c.serial = s.serials
	s.spans = append(s.spans, ConnSpan{Serial: c.serial, Opened: time.Now()})
	s.conns = append(s.conns, c)
	n := len(s.conns)
	s.mu.Unlock()

	hello := fmt.Appendf(nil, `{"type":"hello","num_connections":%d,"debug_info":{"host":"slacktest","build_number":1,"approximate_connection_time":18060},"connection_info":{"app_id":%q}}`, n, s.AppID)
	if err := c.write(hello); err != nil {
		s.remove(c)
		return
	}
	s.mu.Lock()
	s.opened++
	s.notifyLocked()
	s.mu.Unlock()
	s.flush()
	go s.pingLoop(c)
	s.readLoop(c)
}

// pingLoop pings like Slack does; clients treat a lack of pings as death.
func (s *Server) pingLoop(c *wsConn) {
	t := time.NewTicker(s.pingEvery)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			if c.silent.Load() {
				continue
			}
			c.wmu.Lock()
			err := c.ws.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(5*time.Second))
			c.wmu.Unlock()
			if err != nil {
				s.remove(c)
				return
			}
		}
	}
}

// readLoop records acks until the connection ends.
func (s *Server) readLoop(c *wsConn) {
	defer s.remove(c)
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &ack) != nil || ack.EnvelopeID == "" {
			continue
		}
		s.mu.Lock()
		if _, dup := s.acks[ack.EnvelopeID]; !dup {
			s.acks[ack.EnvelopeID] = Ack{EnvelopeID: ack.EnvelopeID, Payload: ack.Payload,
				SentAt: s.envelopes[ack.EnvelopeID].sentAt, AckedAt: time.Now()}
			s.notifyLocked()
		}
		s.mu.Unlock()
	}
}

func (s *Server) remove(c *wsConn) {
	c.kill()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.conns {
		if x == c {
			s.conns = append(s.conns[:i:i], s.conns[i+1:]...)
			s.endSpanLocked(c)
			s.notifyLocked()
			return
		}
	}
}

// endSpanLocked records when c ended; s.mu must be held.
func (s *Server) endSpanLocked(c *wsConn) {
	for i := range s.spans {
		if s.spans[i].Serial == c.serial && s.spans[i].Closed.IsZero() {
			s.spans[i].Closed = time.Now()
		}
	}
}

// pendingFrame is an envelope that found no open connection.
type pendingFrame struct {
	frame []byte
	due   time.Time // not sent before (Slack retries undelivered events late)
}

// queue holds an envelope that found no open connection until the next
// one opens, or, with WithUndeliveredRetry, until the retry is due.
func (s *Server) queue(frame []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = append(s.pending, pendingFrame{frame: frame, due: time.Now().Add(s.undeliveredRetry)})
	if s.undeliveredRetry > 0 {
		time.AfterFunc(s.undeliveredRetry, s.flush)
	}
}

// flush sends the pending envelopes that are due on the newest live
// connection, if there is one.
func (s *Server) flush() {
	s.mu.Lock()
	var target *wsConn
	for _, c := range s.conns {
		if !c.silent.Load() {
			target = c
		}
	}
	var due, later []pendingFrame
	now := time.Now()
	for _, p := range s.pending {
		if target != nil && !p.due.After(now) {
			due = append(due, p)
		} else {
			later = append(later, p)
		}
	}
	s.pending = later
	s.mu.Unlock()
	for _, p := range due {
		if target.write(p.frame) != nil {
			s.mu.Lock()
			s.pending = append(s.pending, p)
			s.mu.Unlock()
		}
	}
}

// send delivers an envelope on the newest live, talking connection (or,
// with WithSpread, on the next one in turn other than avoid), or queues it
// for the next connection as Slack holds events for a disconnected app.
func (s *Server) send(e envelope, avoid int) string {
	frame, _ := json.Marshal(e)
	s.mu.Lock()
	e.sentAt = time.Now()
	var live []*wsConn
	for _, c := range s.conns {
		if !c.silent.Load() {
			live = append(live, c)
		}
	}
	var target *wsConn
	switch {
	case len(live) == 0:
	case !s.spread:
		target = live[len(live)-1]
	case avoid == 0:
		target = live[s.turn%len(live)]
		s.turn++
	default:
		// A redelivery: the next live connection after the one that
		// carried the envelope (connections are in serial order), wrapping
		// around; the turn of fresh envelopes is kept.
		target = live[0]
		for _, c := range live {
			if c.serial > avoid {
				target = c
				break
			}
		}
	}
	if target != nil {
		e.carrier = target.serial
	}
	s.envelopes[e.ID] = e
	s.mu.Unlock()
	if target == nil || target.write(frame) != nil {
		s.mu.Lock()
		e.carrier = 0
		s.envelopes[e.ID] = e
		s.mu.Unlock()
		s.queue(frame)
	}
	return e.ID
}

// CarriedBy returns the serial number of the connection an envelope was
// written to (connections are numbered from 1 in the order they opened),
// or 0 when it was queued for the next connection or is unknown.
func (s *Server) CarriedBy(envelopeID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.envelopes[envelopeID].carrier
}

// Redeliver sends an envelope again, as Slack does when an ack is late,
// with retry_attempt incremented and retry_reason "timeout". It returns
// the new envelope id.
func (s *Server) Redeliver(envelopeID string) (string, error) {
	s.mu.Lock()
	e, ok := s.envelopes[envelopeID]
	s.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("slacktest: no envelope %q", envelopeID)
	}
	e.ID = s.nextID("redeliver-")
	e.RetryAttempt++
	e.RetryReason = "timeout"
	return s.send(e, e.carrier), nil
}

// WaitAck waits for the client's ack of an envelope.
func (s *Server) WaitAck(ctx context.Context, envelopeID string) (Ack, error) {
	var a Ack
	err := s.waitFor(ctx, "ack of "+envelopeID, func() bool {
		var ok bool
		a, ok = s.acks[envelopeID]
		return ok
	})
	return a, err
}

// Acked reports whether an envelope has been acknowledged.
func (s *Server) Acked(envelopeID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.acks[envelopeID]
	return ok
}
