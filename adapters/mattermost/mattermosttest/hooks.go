package mattermosttest

import (
	"net/http"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

// commandHookUses is how many posts the real server accepts through one
// response URL (app.HandleCommandWebhook: CommandWebhook().TryUse(id, 5)).
const commandHookUses = 5

// commandHook is a slash command's response URL (model.CommandWebhook).
type commandHook struct {
	commandID, userID, channelID, rootID string
	created                              time.Time
	uses                                 int
}

func (s *Server) newHook(commandID, userID, channelID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := model.NewId()
	s.hooks[id] = &commandHook{commandID: commandID, userID: userID, channelID: channelID, created: time.Now()}
	return id
}

// AgeCommandHooks makes every response URL issued so far d older, so a
// test can see the server refuse them after model.CommandWebhookLifetime.
func (s *Server) AgeCommandHooks(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.hooks {
		h.created = h.created.Add(-d)
	}
}

// CommandHookUses reports how many posts the server counted for the
// response URL in url (0 for an unknown one).
func (s *Server) CommandHookUses(url string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, h := range s.hooks {
		if url == s.URL()+"/hooks/commands/"+id {
			return h.uses
		}
	}
	return 0
}

// serveCommandHook is POST /hooks/commands/{id}, as the real server's
// web.commandWebhook and app.HandleCommandWebhook answer it: no
// authentication (the id is the secret); the body is a command response,
// JSON or plain text; a hook older than 30 minutes, or unknown, is 404; a
// use past the fifth is 400 (the use is counted before the post is made);
// success is 200 "ok" in text/plain.
func (s *Server) serveCommandHook(w http.ResponseWriter, r *http.Request) {
	cr, err := model.CommandResponseFromHTTPBody(r.Header.Get("Content-Type"), r.Body)
	if err != nil || cr == nil {
		appError(w, http.StatusBadRequest, "web.command_webhook.parse.app_error", "Unable to parse incoming data.")
		return
	}
	s.mu.Lock()
	h := s.hooks[r.PathValue("id")]
	if h == nil || time.Since(h.created) >= model.CommandWebhookLifetime*time.Millisecond {
		s.mu.Unlock()
		appError(w, http.StatusNotFound, "app.command_webhook.get.missing", "Unable to find the webhook.")
		return
	}
	if h.uses >= commandHookUses {
		s.mu.Unlock()
		appError(w, http.StatusBadRequest, "app.command_webhook.try_use.invalid", "Invalid webhook.")
		return
	}
	h.uses++
	userID, channelID, rootID := h.userID, h.channelID, h.rootID
	s.mu.Unlock()
	if err := s.applyResponse(userID, channelID, rootID, cr); err != nil {
		appError(w, http.StatusInternalServerError, "api.command.execute_command.create_post_failed.app_error",
			"Command '' failed to post response. Please contact your System Administrator.")
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte("ok"))
}
