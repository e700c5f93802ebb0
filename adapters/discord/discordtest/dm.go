package discordtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// Direct messages: POST /users/@me/channels {recipient_id} opens (or
// returns) the DM channel between the bot and a user, as Discord does;
// whether the user accepts the bot's messages is only known when posting
// in it (403, code 50007, for a user who turned off DMs from server
// members).

// dmState is the fake's DM data, guarded by Server.mu.
type dmState struct {
	byUser  map[string]string // recipient -> DM channel id
	owner   map[string]string // DM channel id -> recipient
	closed  map[string]bool   // recipients who refuse the bot's DMs
	created int               // POST /users/@me/channels answered 200
}

func (s *Server) dmLocked() *dmState {
	if s.dms == nil {
		s.dms = &dmState{byUser: map[string]string{}, owner: map[string]string{}, closed: map[string]bool{}}
	}
	return s.dms
}

// DMChannel returns the id of the DM channel the bot opened with userID,
// "" when it opened none.
func (s *Server) DMChannel(userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dmLocked().byUser[userID]
}

// DMsOpened returns how many times the bot asked for a DM channel.
func (s *Server) DMsOpened() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dmLocked().created
}

// CloseDMs makes userID refuse the bot's direct messages: opening the DM
// channel works, posting in it answers 403 "Cannot send messages to this
// user" (code 50007), as for a user who turned off DMs from members of
// the servers they share with the bot.
func (s *Server) CloseDMs(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dmLocked().closed[userID] = true
}

// dmRefusedLocked reports whether a message into channel goes to a user
// who refuses the bot's DMs.
func (s *Server) dmRefusedLocked(channel string) bool {
	d := s.dmLocked()
	user, ok := d.owner[channel]
	return ok && d.closed[user]
}

func (s *Server) createDM(w http.ResponseWriter, r *http.Request) {
	var b struct {
		RecipientID string `json:"recipient_id"`
	}
	_ = json.NewDecoder(r.Body).Decode(&b)
	if _, err := strconv.ParseUint(b.RecipientID, 10, 64); err != nil {
		// Discord's form validation: ids are snowflakes.
		code, msg := "NUMBER_TYPE_COERCE", fmt.Sprintf("Value %q is not snowflake.", b.RecipientID)
		if b.RecipientID == "" {
			code, msg = "BASE_TYPE_REQUIRED", "This field is required"
		}
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": 50035, "message": "Invalid Form Body", "errors": map[string]any{
			"recipient_id": map[string]any{"_errors": []map[string]string{{"code": code, "message": msg}}}}})
		return
	}
	s.mu.Lock()
	d := s.dmLocked()
	id, ok := d.byUser[b.RecipientID]
	if !ok {
		s.nextID++
		id = fmt.Sprint(s.nextID)
		d.byUser[b.RecipientID], d.owner[id] = id, b.RecipientID
	}
	d.created++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "type": 1, "last_message_id": nil, "flags": 0,
		"recipients": []any{map[string]any{"id": b.RecipientID, "username": "user" + b.RecipientID, "avatar": nil,
			"discriminator": "0", "public_flags": 0, "global_name": nil}}})
}
