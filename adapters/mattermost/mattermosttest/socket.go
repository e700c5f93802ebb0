package mattermosttest

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/mattermost/mattermost/server/public/model"
)

// PingInterval is how often the fake pings each websocket client (the real
// server pings too; clients use it for liveness).
const PingInterval = 200 * time.Millisecond

type socket struct {
	conn *websocket.Conn
	mu   sync.Mutex // gorilla allows one writer at a time
	seq  int64
}

func (c *socket) writeJSON(v any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.conn.WriteJSON(v)
}

func (c *socket) sendEvent(ev *model.WebSocketEvent) error {
	c.mu.Lock()
	ev = ev.SetSequence(c.seq)
	c.seq++
	c.mu.Unlock()
	b, err := ev.ToJSON()
	if err != nil {
		return err
	}
	return c.writeJSON(json.RawMessage(b))
}

type request struct {
	Seq    int64          `json:"seq"`
	Action string         `json:"action"`
	Data   map[string]any `json:"data"`
}

func (s *Server) serveWebsocket(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	refuse := s.refuse
	s.mu.Unlock()
	if refuse {
		http.Error(w, "restarting", http.StatusServiceUnavailable)
		return
	}
	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &socket{conn: conn}
	defer conn.Close()
	// The first frame must be the authentication challenge; with a bad
	// token the real server just closes the socket, saying nothing.
	var auth request
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := conn.ReadJSON(&auth); err != nil || auth.Action != string(model.WebsocketAuthenticationChallenge) {
		return
	}
	if tok, _ := auth.Data["token"].(string); tok != s.BotToken {
		return
	}
	_ = conn.SetReadDeadline(time.Time{})
	// Registered before the handshake frames go out, so an event posted
	// the moment a client sees hello reaches it.
	s.mu.Lock()
	s.sockets[c] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.sockets, c)
		s.mu.Unlock()
	}()
	// The real server (9.9) sends hello before the reply to the challenge.
	hello := model.NewWebSocketEvent(model.WebsocketEventHello, "", "", s.BotID, nil, "")
	hello.Add("server_version", "9.9.0..fake.false")
	hello.Add("connection_id", model.NewId())
	if c.sendEvent(hello) != nil {
		return
	}
	if c.writeJSON(map[string]any{"status": model.StatusOk, "seq_reply": auth.Seq}) != nil {
		return
	}
	s.mu.Lock()
	s.conns++
	s.mu.Unlock()
	select {
	case s.connected <- struct{}{}:
	default:
	}

	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(PingInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if s.isSilent() {
					continue
				}
				c.mu.Lock()
				err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second))
				c.mu.Unlock()
				if err != nil {
					return
				}
			}
		}
	}()
	for {
		var req request
		if err := conn.ReadJSON(&req); err != nil {
			return
		}
		if s.isSilent() {
			continue
		}
		if req.Action == "ping" {
			_ = c.writeJSON(map[string]any{"status": model.StatusOk, "seq_reply": req.Seq, "data": map[string]any{"text": "pong", "version": "9.9.0"}})
		}
	}
}

// broadcastPosted sends a "posted" event for p to every client, shaped
// like the server's: data.post and data.mentions are JSON strings.
func (s *Server) broadcastPosted(p *model.Post) {
	s.mu.Lock()
	if s.silent {
		s.mu.Unlock()
		return
	}
	ch := s.channels[p.ChannelId]
	sender := s.users[p.UserId]
	socks := make([]*socket, 0, len(s.sockets))
	for c := range s.sockets {
		socks = append(socks, c)
	}
	postJSON := serverPostJSON(p)
	s.mu.Unlock()

	ev := model.NewWebSocketEvent(model.WebsocketEventPosted, "", p.ChannelId, "", nil, "")
	ev.Add("post", string(postJSON))
	if ch != nil {
		ev.Add("channel_type", string(ch.Type))
		ev.Add("channel_name", ch.Name)
		ev.Add("channel_display_name", ch.DisplayName)
		ev.Add("team_id", ch.TeamId)
	}
	if sender != nil {
		ev.Add("sender_name", "@"+sender.Username)
	}
	ev.Add("set_online", true)
	if strings.Contains(p.Message, "@"+s.BotName) || (ch != nil && ch.Type == model.ChannelTypeDirect && p.UserId != s.BotID) {
		m, _ := json.Marshal([]string{s.BotID})
		ev.Add("mentions", string(m))
	}
	for _, c := range socks {
		if err := c.sendEvent(ev.Copy()); err != nil {
			c.conn.Close()
		}
	}
}

// serverPostJSON encodes a post as the real server does in events: without
// the empty file_ids the Go model would add.
func serverPostJSON(p *model.Post) []byte {
	b, _ := json.Marshal(p)
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return b
	}
	if ids, _ := m["file_ids"].([]any); len(ids) == 0 {
		delete(m, "file_ids")
	}
	out, _ := json.Marshal(m)
	return out
}
