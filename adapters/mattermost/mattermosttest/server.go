// Package mattermosttest is an in-process fake Mattermost server for
// testing clients built on model.Client4 and model.WebSocketClient: the
// REST endpoints a bot uses, and the websocket with the real
// authentication handshake, hello and posted events (built with the
// server's own model types so the wire format is exact), pings, and fault
// injection (429s, dropped and silent connections).
package mattermosttest

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/mattermost/mattermost/server/public/model"
)

// Record is a post the bot created or patched, or an answer a slash
// command gave (in its HTTP response or through its response URL).
type Record struct {
	// Patch is true for an edit (PUT /posts/{id}/patch).
	Patch bool
	// Webhook is true for an in_channel command answer: the server posts
	// it as the user who ran the command, with the prop from_webhook.
	Webhook bool
	// Ephemeral is true for an ephemeral command answer, shown to the
	// user who ran the command (Post.UserId) only and not stored.
	Ephemeral bool
	// Post is the post after the operation.
	Post *model.Post
}

// Server is the fake. Its fields describe the seeded workspace.
type Server struct {
	// BotToken is the bot account's access token.
	BotToken string
	// BotID and BotName identify the bot user.
	BotID, BotName string
	// TeamID is the bot's team ("eng"); ChannelID a public channel
	// ("ops") of it the bot is in. AddTeam makes more teams.
	TeamID, ChannelID string

	srv      *httptest.Server
	upgrader websocket.Upgrader
	signer   crypto.Signer // trigger ids

	mu        sync.Mutex
	users     map[string]*model.User
	teams     map[string]*model.Team
	botTeams  map[string]bool           // the teams the bot is a member of
	channels  map[string]*model.Channel // the bot is a member
	others    map[string]*model.Channel // the bot is not a member
	commands  []Command
	hooks     map[string]*commandHook
	posts     []*model.Post
	sockets   map[*socket]bool
	silent    bool
	refuse    bool
	failPosts []failure
	conns     int // successful authentications, ever
	connected chan struct{}

	botPosts chan Record
	requests []string
}

type failure struct {
	status     int
	retryAfter string
}

// New starts a fake with a team, an "ops" channel and a bot user "chatops".
func New() *Server {
	s := &Server{
		BotToken:  "mm-bot-token-" + model.NewId(),
		BotID:     model.NewId(),
		BotName:   "chatops",
		TeamID:    model.NewId(),
		ChannelID: model.NewId(),
		users:     map[string]*model.User{},
		teams:     map[string]*model.Team{},
		botTeams:  map[string]bool{},
		channels:  map[string]*model.Channel{},
		others:    map[string]*model.Channel{},
		hooks:     map[string]*commandHook{},
		signer:    newSigner(),
		sockets:   map[*socket]bool{},
		connected: make(chan struct{}, 64),
		botPosts:  make(chan Record, 256),
		upgrader:  websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }},
	}
	s.users[s.BotID] = &model.User{Id: s.BotID, Username: s.BotName, IsBot: true, Roles: "system_user"}
	s.teams[s.TeamID] = &model.Team{Id: s.TeamID, Name: "eng", DisplayName: "Engineering", Type: model.TeamOpen}
	s.botTeams[s.TeamID] = true
	s.channels[s.ChannelID] = &model.Channel{Id: s.ChannelID, TeamId: s.TeamID, Type: model.ChannelTypeOpen, Name: "ops", DisplayName: "Ops"}
	s.srv = httptest.NewServer(s.routes())
	return s
}

// URL is the server's base URL (for Config.URL).
func (s *Server) URL() string { return s.srv.URL }

// Close stops the server and drops every connection.
func (s *Server) Close() {
	s.DropConnections()
	s.srv.Close()
}

// AddUser creates a user (a bot when isBot) and returns its id.
func (s *Server) AddUser(username string, isBot bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := model.NewId()
	s.users[id] = &model.User{Id: id, Username: username, IsBot: isBot}
	return id
}

// AddTeam creates a team named name, with the bot as a member or not,
// and returns its id. The bot sees the public channels of its teams, as
// the real server shows them to a member of the team.
func (s *Server) AddTeam(name string, botMember bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := model.NewId()
	s.teams[id] = &model.Team{Id: id, Name: name, DisplayName: name, Type: model.TeamOpen}
	s.botTeams[id] = botMember
	return id
}

// AddChannel creates a public channel of the team named name, with the
// bot as a member or not, and returns its id. The bot may not post in a
// channel it is not a member of (403).
func (s *Server) AddChannel(name string, botMember bool) string {
	return s.AddChannelIn(s.TeamID, name, model.ChannelTypeOpen, botMember)
}

// AddChannelIn creates a channel of type typ (public or private) in
// teamID named name, with the bot as a member or not, and returns its
// id. The bot may read it (GET /channels/{id}) when it is a member, or
// when it is public and the bot is in its team; it may post in it only
// as a member (403).
func (s *Server) AddChannelIn(teamID, name string, typ model.ChannelType, botMember bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := model.NewId()
	now := model.GetMillis()
	c := &model.Channel{Id: id, TeamId: teamID, Type: typ, Name: name, DisplayName: name, CreateAt: now, UpdateAt: now}
	if botMember {
		s.channels[id] = c
	} else {
		s.others[id] = c
	}
	return id
}

// DirectChannel returns the id of the DM channel between the bot and user,
// creating it.
func (s *Server) DirectChannel(userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := model.GetDMNameFromIds(s.BotID, userID)
	for id, c := range s.channels {
		if c.Name == name {
			return id
		}
	}
	id := model.NewId()
	now := model.GetMillis()
	s.channels[id] = &model.Channel{Id: id, Type: model.ChannelTypeDirect, Name: name, CreateAt: now, UpdateAt: now}
	return id
}

// Post stores a post by userID in channelID (in the thread rootID when
// set) and broadcasts it as a "posted" event to connected clients, as the
// server does. With no client connected it is only stored, so a client
// that reconnects finds it through GetPostsSince.
func (s *Server) Post(channelID, userID, message, rootID string) *model.Post {
	s.mu.Lock()
	p := s.store(channelID, userID, message, rootID, nil)
	s.mu.Unlock()
	s.broadcastPosted(p)
	return p
}

// PostAsBot posts like Post with the from_bot prop integrations set.
func (s *Server) PostAsBot(channelID, userID, message string) *model.Post {
	s.mu.Lock()
	p := s.store(channelID, userID, message, "", map[string]any{model.PostPropsFromBot: "true"})
	s.mu.Unlock()
	s.broadcastPosted(p)
	return p
}

// PostAt stores a post created at the given time without broadcasting it:
// a command posted while no bot process was running, for catch-up tests.
func (s *Server) PostAt(channelID, userID, message string, at time.Time) *model.Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.store(channelID, userID, message, "", nil)
	p.CreateAt, p.UpdateAt = at.UnixMilli(), at.UnixMilli()
	return p
}

// Redeliver broadcasts an existing post's "posted" event again.
func (s *Server) Redeliver(p *model.Post) { s.broadcastPosted(p) }

func (s *Server) store(channelID, userID, message, rootID string, props map[string]any) *model.Post {
	now := model.GetMillis()
	if n := len(s.posts); n > 0 && s.posts[n-1].CreateAt >= now {
		now = s.posts[n-1].CreateAt + 1 // keep create_at strictly increasing
	}
	// As the real server: props and metadata are objects, never null.
	p := &model.Post{Id: model.NewId(), ChannelId: channelID, UserId: userID, Message: message, RootId: rootID, CreateAt: now, UpdateAt: now,
		Props: model.StringInterface{}, Metadata: &model.PostMetadata{}}
	for k, v := range props {
		p.AddProp(k, v)
	}
	s.posts = append(s.posts, p)
	return p
}

// NextBotPost waits for the bot's next created or patched post.
func (s *Server) NextBotPost(ctx context.Context) (Record, error) {
	select {
	case r := <-s.botPosts:
		return r, nil
	case <-ctx.Done():
		return Record{}, fmt.Errorf("waiting for the bot's post: %w", ctx.Err())
	}
}

// FailPosts makes the next n post creations or patches fail with status
// (and a Retry-After header when retryAfter is set).
func (s *Server) FailPosts(n, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failPosts = append(s.failPosts, failure{status, retryAfter})
	}
}

// WaitConnected waits until n websocket clients have ever authenticated.
func (s *Server) WaitConnected(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		c := s.conns
		s.mu.Unlock()
		if c >= n {
			return nil
		}
		select {
		case <-s.connected:
		case <-ctx.Done():
			return fmt.Errorf("waiting for connection %d (have %d): %w", n, c, ctx.Err())
		}
	}
}

// Connected reports how many websocket clients are connected now.
func (s *Server) Connected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sockets)
}

// DropConnections closes every websocket abruptly.
func (s *Server) DropConnections() {
	s.mu.Lock()
	socks := make([]*socket, 0, len(s.sockets))
	for c := range s.sockets {
		socks = append(socks, c)
	}
	s.mu.Unlock()
	for _, c := range socks {
		c.conn.Close()
	}
}

// SetRefuseConnections makes new websocket connections fail (503), as
// while the server restarts; REST keeps working.
func (s *Server) SetRefuseConnections(refuse bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = refuse
}

// SetSilent makes open websockets go quiet without closing: no events, no
// pings, no replies, as a half-dead NAT mapping would.
func (s *Server) SetSilent(silent bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.silent = silent
}

func (s *Server) isSilent() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.silent
}

// Requests returns "METHOD path" of every REST request so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// appError answers like the server: an AppError JSON body.
func appError(w http.ResponseWriter, status int, id, msg string) {
	e := model.NewAppError("fake", id, nil, "", status)
	e.Message = msg
	e.RequestId = model.NewId() // the real server names every request
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(e.ToJSON()))
}

func (s *Server) authorized(r *http.Request) bool {
	// Client4 sends "BEARER <token>".
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	// The real server accepts "Bearer" and "Token" in any case.
	return ok && (strings.EqualFold(scheme, "bearer") || strings.EqualFold(scheme, "token")) && tok == s.BotToken
}
