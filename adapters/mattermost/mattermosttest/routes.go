package mattermosttest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/mattermost/mattermost/server/public/model"
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v4/system/ping", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, map[string]string{"status": "OK"})
	})
	mux.HandleFunc("GET /api/v4/websocket", s.serveWebsocket)
	mux.HandleFunc("POST /hooks/commands/{id}", s.serveCommandHook)
	api := http.NewServeMux()
	api.HandleFunc("GET /api/v4/users/me", s.getMe)
	api.HandleFunc("GET /api/v4/users/{uid}/teams", s.getTeams)
	api.HandleFunc("GET /api/v4/users/{uid}/teams/{tid}/channels", s.getChannels)
	api.HandleFunc("GET /api/v4/channels/{cid}", s.getChannel)
	api.HandleFunc("POST /api/v4/posts", s.createPost)
	api.HandleFunc("PUT /api/v4/posts/{pid}/patch", s.patchPost)
	api.HandleFunc("GET /api/v4/channels/{cid}/posts", s.postsSince)
	api.HandleFunc("POST /api/v4/channels/direct", s.createDirect)
	mux.Handle("/api/v4/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.Method+" "+r.URL.Path)
		s.mu.Unlock()
		if !s.authorized(r) {
			appError(w, http.StatusUnauthorized, "api.context.session_expired.app_error", "Invalid or expired session, please login again.")
			return
		}
		api.ServeHTTP(w, r)
	}))
	return mux
}

func (s *Server) getMe(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, 200, s.users[s.BotID])
}

// getTeams lists the teams the bot is a member of.
func (s *Server) getTeams(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []*model.Team{}
	for id, t := range s.teams {
		if s.botTeams[id] {
			out = append(out, t)
		}
	}
	writeJSON(w, 200, out)
}

// getChannels lists the team's channels the bot is in, with its DMs, as
// the server's /users/{id}/teams/{id}/channels does.
func (s *Server) getChannels(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []*model.Channel{}
	for _, c := range s.channels {
		if c.TeamId == r.PathValue("tid") || c.TeamId == "" {
			out = append(out, c)
		}
	}
	writeJSON(w, 200, out)
}

// getChannel shows a channel as the server shows it to the bot: one it is
// a member of, or a public channel of a team it is in; other channels are
// refused (403), unknown ones not found (404).
func (s *Server) getChannel(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("cid")
	if c := s.channels[id]; c != nil {
		writeJSON(w, 200, c)
		return
	}
	c := s.others[id]
	switch {
	case c == nil:
		appError(w, http.StatusNotFound, "app.channel.get.existing.app_error", "Unable to find the existing channel.")
	case c.Type == model.ChannelTypeOpen && s.botTeams[c.TeamId]:
		writeJSON(w, 200, c)
	default:
		appError(w, http.StatusForbidden, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
	}
}

func (s *Server) takeFailure() (failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failPosts) == 0 {
		return failure{}, false
	}
	f := s.failPosts[0]
	s.failPosts = s.failPosts[1:]
	return f, true
}

func (s *Server) injectFailure(w http.ResponseWriter) bool {
	f, ok := s.takeFailure()
	if !ok {
		return false
	}
	if f.retryAfter != "" {
		w.Header().Set("Retry-After", f.retryAfter)
		w.Header().Set("X-Ratelimit-Reset", f.retryAfter)
	}
	appError(w, f.status, "api.context.rate_limit", http.StatusText(f.status))
	return true
}

func (s *Server) createPost(w http.ResponseWriter, r *http.Request) {
	if s.injectFailure(w) {
		return
	}
	var p model.Post
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
		appError(w, 400, "api.context.invalid_body_param.app_error", "Invalid or missing post in request body.")
		return
	}
	if utf8.RuneCountInString(p.Message) > model.PostMessageMaxRunesV2 {
		appError(w, 400, "model.post.is_valid.msg.app_error", "Invalid message.")
		return
	}
	s.mu.Lock()
	if _, ok := s.channels[p.ChannelId]; !ok {
		s.mu.Unlock()
		appError(w, 403, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
		return
	}
	stored := s.store(p.ChannelId, s.BotID, p.Message, p.RootId, nil)
	cp := stored.Clone()
	s.mu.Unlock()
	s.botPosts <- Record{Post: cp.Clone()}
	s.broadcastPosted(stored) // the server echoes the bot's own posts
	writeJSON(w, 201, cp)
}

func (s *Server) patchPost(w http.ResponseWriter, r *http.Request) {
	if s.injectFailure(w) {
		return
	}
	var patch model.PostPatch
	if err := json.NewDecoder(r.Body).Decode(&patch); err != nil {
		appError(w, 400, "api.context.invalid_body_param.app_error", "Invalid or missing patch in request body.")
		return
	}
	if patch.Message != nil && utf8.RuneCountInString(*patch.Message) > model.PostMessageMaxRunesV2 {
		appError(w, 400, "model.post.is_valid.msg.app_error", "Invalid message.")
		return
	}
	s.mu.Lock()
	var found *model.Post
	for _, p := range s.posts {
		if p.Id == r.PathValue("pid") {
			found = p
		}
	}
	if found == nil || found.UserId != s.BotID {
		s.mu.Unlock()
		appError(w, 403, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
		return
	}
	if patch.Message != nil {
		found.Message = *patch.Message
	}
	found.EditAt = model.GetMillis()
	found.UpdateAt = found.EditAt
	cp := found.Clone()
	s.mu.Unlock()
	s.botPosts <- Record{Patch: true, Post: cp.Clone()}
	writeJSON(w, 200, cp)
}

// postsSince returns the channel's posts created or changed after since.
func (s *Server) postsSince(w http.ResponseWriter, r *http.Request) {
	since, err := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64)
	if err != nil {
		appError(w, 400, "api.context.invalid_url_param.app_error", "Invalid since parameter.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	list := model.NewPostList()
	for i := len(s.posts) - 1; i >= 0; i-- { // newest first, as the server orders
		p := s.posts[i]
		if p.ChannelId == r.PathValue("cid") && p.UpdateAt > since {
			list.AddPost(p.Clone())
			list.AddOrder(p.Id)
		}
	}
	writeJSON(w, 200, list)
}

// createDirect opens the DM channel between the two users in the body, as
// the server's createDirectChannel does: a JSON array of two user ids (one
// is the caller's own: a DM with oneself), one of which must be the
// caller (the bot: without manage_system it may not open others' DMs);
// an unknown user is 400 invalid_user. The channel is created once and
// returned again after, always with 201 Created.
func (s *Server) createDirect(w http.ResponseWriter, r *http.Request) {
	var ids []string
	if err := json.NewDecoder(r.Body).Decode(&ids); err != nil {
		appError(w, 400, model.PayloadParseError, "Invalid or missing payload in request body.")
		return
	}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	if len(ids) == 1 && ids[0] == s.BotID {
		ids = append(ids, ids[0])
	}
	if len(ids) != 2 {
		appError(w, 400, "api.context.invalid_body_param.app_error", "Invalid or missing user_ids in request body.")
		return
	}
	for _, id := range ids {
		if !model.IsValidId(id) {
			appError(w, 400, "api.context.invalid_body_param.app_error", "Invalid or missing user_id in request body.")
			return
		}
	}
	if ids[0] != s.BotID && ids[1] != s.BotID {
		appError(w, 403, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
		return
	}
	other := ids[0]
	if other == s.BotID {
		other = ids[1]
	}
	s.mu.Lock()
	_, known := s.users[other]
	s.mu.Unlock()
	if !known {
		appError(w, 400, "api.channel.create_direct_channel.invalid_user.app_error", "Invalid user ID for direct channel creation.")
		return
	}
	id := s.DirectChannel(other)
	s.mu.Lock()
	ch := *s.channels[id]
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, &ch)
}
