package discordtest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// The REST API: routes, Discord's errors, messages, interaction callbacks
// and webhooks, and the application commands.

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
