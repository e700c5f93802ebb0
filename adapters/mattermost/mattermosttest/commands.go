package mattermosttest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/mattermost/mattermost/server/public/model"
)

// CommandTimeout is how long the fake waits for a slash command's answer:
// the real server's default ServiceSettings.OutgoingIntegrationRequestsTimeout.
const CommandTimeout = 30 * time.Second

// maxIntegrationResponse is the real server's MaxIntegrationResponseSize.
const maxIntegrationResponse = 1 << 20

// Command is a custom slash command of the fake's team (Integrations >
// Slash Commands), always with method POST.
type Command struct {
	ID, Trigger, URL, Token string
}

// AddCommand registers a custom slash command that posts to url, with a
// new token, as the System Console does.
func (s *Server) AddCommand(trigger, url string) Command {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := Command{ID: model.NewId(), Trigger: strings.ToLower(trigger), URL: url, Token: model.NewId()}
	s.commands = append(s.commands, c)
	return c
}

// SetCommandURL changes a command's Request URL, as editing it in the
// System Console does; its token stays.
func (s *Server) SetCommandURL(id, url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.commands {
		if s.commands[i].ID == id {
			s.commands[i].URL = url
		}
	}
}

// ExecuteCommand runs command ("/trigger text") as userID in channelID,
// as the real server's POST /api/v4/commands/execute does
// (app.ExecuteCommand, tryExecuteCustomCommand, DoCommandRequest): it
// creates the command's response URL, posts the form to the command's
// URL with its token in the form and in "Authorization: Token", reads
// the answer (JSON or plain text) and applies it (HandleCommandResponse).
// It returns the answer, or the server's refusal as an *model.AppError.
func (s *Server) ExecuteCommand(ctx context.Context, channelID, userID, command string) (*model.CommandResponse, error) {
	trigger, message := command, ""
	if i := strings.IndexFunc(command, unicode.IsSpace); i != -1 {
		trigger, message = command[:i], command[i+1:]
	}
	trigger = strings.ToLower(trigger)
	if !strings.HasPrefix(trigger, "/") {
		return nil, cmdError("api.command.execute_command.format.app_error", "Command trigger must start with '/'.", "", http.StatusBadRequest)
	}
	trigger = strings.TrimPrefix(trigger, "/")
	s.mu.Lock()
	var cmd *Command
	for i := range s.commands {
		if s.commands[i].Trigger == trigger {
			cmd = &s.commands[i]
		}
	}
	ch := s.channels[channelID]
	if ch == nil {
		ch = s.others[channelID]
	}
	user := s.users[userID]
	// The team the command runs in: the channel's (a DM's is the
	// user's current team, here always the bot's).
	team := s.teams[s.TeamID]
	if ch != nil && s.teams[ch.TeamId] != nil {
		team = s.teams[ch.TeamId]
	}
	s.mu.Unlock()
	switch {
	case cmd == nil:
		return nil, cmdError("api.command.execute_command.not_found.app_error",
			"Command with a trigger of '"+trigger+"' not found. To send a message beginning with \"/\", try adding an empty space at the beginning of the message.", "", http.StatusNotFound)
	case ch == nil:
		return nil, cmdError("app.channel.get.existing.app_error", "Unable to find the existing channel.", "", http.StatusNotFound)
	case user == nil:
		return nil, cmdError("app.user.missing_account.const", "Unable to find the user.", "", http.StatusNotFound)
	}
	clientTriggerID, triggerID, appErr := model.GenerateTriggerId(userID, s.signer)
	if appErr != nil {
		return nil, appErr
	}
	hook := s.newHook(cmd.ID, userID, channelID)
	p := url.Values{}
	p.Set("token", cmd.Token)
	p.Set("team_id", team.Id)
	p.Set("team_domain", team.Name)
	p.Set("channel_id", channelID)
	p.Set("channel_name", ch.Name)
	p.Set("user_id", userID)
	p.Set("user_name", user.Username)
	p.Set("command", "/"+trigger)
	p.Set("text", message)
	p.Set("trigger_id", triggerID)
	p.Set("response_url", s.URL()+"/hooks/commands/"+hook)

	failed := func(err error) error {
		return cmdError("api.command.execute_command.failed.app_error", "Command with a trigger of '"+trigger+"' failed.", err.Error(), http.StatusInternalServerError)
	}
	ctx, cancel := context.WithTimeout(ctx, CommandTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cmd.URL, strings.NewReader(p.Encode()))
	if err != nil {
		return nil, failed(err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Token "+cmd.Token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, failed(err)
	}
	defer resp.Body.Close()
	body := io.LimitReader(resp.Body, maxIntegrationResponse)
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(body)
		return nil, cmdError("api.command.execute_command.failed_resp.app_error",
			"Command with a trigger of '"+trigger+"' returned response "+resp.Status+".", string(b), http.StatusInternalServerError)
	}
	cr, err := model.CommandResponseFromHTTPBody(resp.Header.Get("Content-Type"), body)
	if err != nil {
		return nil, failed(err)
	}
	cr.TriggerId = clientTriggerID // the server hands its user the id the command got
	if err := s.applyResponse(userID, channelID, "", cr); err != nil {
		return cr, cmdError("api.command.execute_command.create_post_failed.app_error",
			"Command '"+trigger+"' failed to post response. Please contact your System Administrator.", err.Error(), http.StatusInternalServerError)
	}
	return cr, nil
}

// applyResponse does what a command's answer (or a post to its response
// URL) asks, as app.HandleCommandResponse does for a custom command: an
// in_channel answer becomes a post by the user who ran the command,
// marked from_webhook; an ephemeral one (the default) with text is shown
// to that user only; anything else shows nothing. Extra responses follow.
func (s *Server) applyResponse(userID, channelID, rootID string, cr *model.CommandResponse) error {
	var last error
	for _, r := range append([]*model.CommandResponse{cr}, cr.ExtraResponses...) {
		if r == nil {
			continue
		}
		if strings.HasPrefix(r.Type, model.PostSystemMessagePrefix) {
			last = fmt.Errorf("post type %q is refused", r.Type)
			continue
		}
		text := r.Text
		if !r.SkipSlackParsing {
			text = model.ParseSlackLinksToMarkdown(text)
		}
		switch {
		case r.ResponseType == model.CommandResponseTypeInChannel:
			s.mu.Lock()
			p := s.store(channelID, userID, text, rootID, map[string]any{"from_webhook": "true"})
			cp := p.Clone()
			s.mu.Unlock()
			s.botPosts <- Record{Webhook: true, Post: cp}
			s.broadcastPosted(p)
		case (r.ResponseType == "" || r.ResponseType == model.CommandResponseTypeEphemeral) && (text != "" || r.Attachments != nil):
			p := &model.Post{Id: model.NewId(), ChannelId: channelID, UserId: userID, RootId: rootID,
				Message: text, CreateAt: model.GetMillis(), Type: model.PostTypeEphemeral}
			p.AddProp("from_webhook", "true")
			s.botPosts <- Record{Ephemeral: true, Post: p}
		}
	}
	return last
}

// cmdError is the server's refusal of a command, with its English text.
func cmdError(id, msg, detailed string, status int) *model.AppError {
	e := model.NewAppError("ExecuteCommand", id, nil, detailed, status)
	e.Message = msg
	return e
}

// newSigner makes the key trigger ids are signed with, as the server's
// AsymmetricSigningKey.
func newSigner() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err) // crypto/rand failing leaves no fake to run
	}
	return k
}
