package discordtest

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

type gwConn struct {
	ws  *websocket.Conn
	mu  sync.Mutex
	seq int
}

type payload struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d,omitempty"`
	S  *int            `json:"s,omitempty"`
	T  string          `json:"t,omitempty"`
}

func (c *gwConn) send(op int, t string, d any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	msg := map[string]any{"op": op, "d": d}
	if op == 0 {
		c.seq++
		msg["s"], msg["t"] = c.seq, t
	}
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteJSON(msg)
}

func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer ws.Close()
	c := &gwConn{ws: ws}
	if c.send(10, "", map[string]any{"heartbeat_interval": HeartbeatInterval.Milliseconds()}) != nil {
		return
	}
	var first payload
	if ws.ReadJSON(&first) != nil {
		return
	}
	var auth struct {
		Token     string `json:"token"`
		SessionID string `json:"session_id"`
		Intents   int    `json:"intents"`
	}
	_ = json.Unmarshal(first.D, &auth)
	if strings.TrimPrefix(auth.Token, "Bot ") != s.Token {
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4004, "Authentication failed."), time.Now().Add(time.Second))
		return
	}
	switch first.Op {
	case 2:
		s.mu.Lock()
		s.identifies++
		s.intents = auth.Intents
		s.notify()
		s.mu.Unlock()
		err = c.send(0, "READY", map[string]any{
			"v": 9, "session_id": "session-" + s.id(), "resume_gateway_url": "ws" + strings.TrimPrefix(s.srv.URL, "http"),
			"user":        map[string]any{"id": s.BotID, "username": "chatops", "discriminator": "0", "bot": true},
			"application": map[string]any{"id": s.AppID, "flags": 0},
			"guilds":      []any{}, "private_channels": []any{},
		})
	case 6:
		s.mu.Lock()
		s.resumes++
		s.notify()
		s.mu.Unlock()
		err = c.send(0, "RESUMED", map[string]any{})
	default:
		return
	}
	if err != nil {
		return
	}
	s.mu.Lock()
	s.conns[c] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	for {
		var p payload
		if ws.ReadJSON(&p) != nil {
			return
		}
		if p.Op == 1 && !s.isSilent() {
			c.mu.Lock()
			_ = ws.WriteJSON(map[string]any{"op": 11})
			c.mu.Unlock()
		}
	}
}

// Intents returns the intents of the last IDENTIFY.
func (s *Server) Intents() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.intents
}

// dispatch sends an event to every connected gateway client.
func (s *Server) dispatch(t string, d any) {
	if s.isSilent() {
		return
	}
	s.mu.Lock()
	var cs []*gwConn
	for c := range s.conns {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	for _, c := range cs {
		if c.send(0, t, d) != nil {
			_ = c.ws.Close()
		}
	}
}

// Connected reports how many gateway clients are connected.
func (s *Server) Connected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Message is a user message to dispatch.
type Message struct {
	ChannelID string
	// GuildID is empty for a DM.
	GuildID  string
	AuthorID string
	Bot      bool
	Content  string
	// ID is set by Send; reuse it to redeliver.
	ID string
}

// Send dispatches MESSAGE_CREATE for m and returns its id.
func (s *Server) Send(m Message) string {
	if m.ID == "" {
		m.ID = s.id()
	}
	d := map[string]any{"id": m.ID, "channel_id": m.ChannelID, "content": m.Content, "type": 0,
		"timestamp": time.Now().UTC().Format(time.RFC3339), "mentions": []any{}, "attachments": []any{}, "embeds": []any{},
		"author": map[string]any{"id": m.AuthorID, "username": "user" + m.AuthorID, "discriminator": "0", "bot": m.Bot}}
	if m.GuildID != "" {
		d["guild_id"] = m.GuildID
	}
	s.dispatch("MESSAGE_CREATE", d)
	return m.ID
}

// Interaction dispatches a /chatops application command with the text in
// its "command" option and returns the interaction id.
func (s *Server) Interaction(channelID, guildID, userID, text string) string {
	id := s.id()
	d := map[string]any{"id": id, "application_id": s.AppID, "type": 2, "token": "itoken-" + id, "version": 1, "channel_id": channelID,
		"data": map[string]any{"id": "cmd-1", "name": "chatops", "type": 1, "options": []any{map[string]any{"name": "command", "type": 3, "value": text}}}}
	user := map[string]any{"id": userID, "username": "user" + userID, "discriminator": "0"}
	if guildID != "" {
		d["guild_id"] = guildID
		d["member"] = map[string]any{"user": user, "roles": []any{}}
	} else {
		d["user"] = user
	}
	s.dispatch("INTERACTION_CREATE", d)
	return id
}
