package mattermost

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/chatops-dev/chatops/adapters/internal/responseurl"
)

var (
	formBot   = model.NewId()
	formUser  = model.NewId()
	formOther = model.NewId()
)

// slashForm is a request as the real server sends it (see
// mmlive/testdata/real/slash_request.json for the recorded field set).
func slashForm(edit func(url.Values)) url.Values {
	v := url.Values{
		"token": {"tok"}, "team_id": {model.NewId()}, "team_domain": {"eng"}, "channel_id": {model.NewId()}, "channel_name": {"ops"},
		"user_id": {formUser}, "user_name": {"alice"}, "command": {"/chatops"}, "text": {"  run deploy prod  "},
		"trigger_id": {"dHJpZ2dlcg=="}, "response_url": {"https://mm.example.com/hooks/commands/" + model.NewId()},
	}
	if edit != nil {
		edit(v)
	}
	return v
}

func TestParseSlashForm(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(url.Values)
		wantErr string
	}{
		{name: "a channel"},
		{name: "a channel named like the DM with the bot", edit: func(v url.Values) { v.Set("channel_name", model.GetDMNameFromIds(formUser, formBot)) }},
		{name: "no response URL", edit: func(v url.Values) { v.Del("response_url") }},
		{name: "no trigger id", edit: func(v url.Values) { v.Del("trigger_id") }},
		{name: "no user", edit: func(v url.Values) { v.Del("user_id") }, wantErr: "user_id"},
		{name: "a bad channel id", edit: func(v url.Values) { v.Set("channel_id", "../x") }, wantErr: "channel_id"},
		{name: "no team", edit: func(v url.Values) { v.Del("team_id") }, wantErr: "team_id"},
		{name: "a response URL not http", edit: func(v url.Values) { v.Set("response_url", "file:///etc/passwd") }, wantErr: "response_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := slashForm(tt.edit)
			r, err := ParseSlashForm(form)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			m := r.Message(false, now)
			h, ok := responseurl.Decode(m.Conversation.Handle)
			switch {
			case m.Platform != "mattermost" || !m.Addressed || m.Text != "run deploy prod" || m.ID != "":
				t.Errorf("message %+v", m)
			case m.Sender.ID != formUser || m.Sender.Username != "alice":
				t.Errorf("sender %+v", m.Sender)
			case m.Conversation.ChannelID != form.Get("channel_id") || m.Conversation.ThreadID != "" || m.Conversation.Direct:
				t.Errorf("conversation %+v, want the channel, not direct (the request's channel_name proves nothing)", m.Conversation)
			case !ok || h.URL != form.Get("response_url") || h.User != formUser || h.Uses != 0 || !h.Issued.Equal(now.Truncate(time.Millisecond)):
				t.Errorf("handle %+v", h)
			case (m.EventID == "") != (form.Get("trigger_id") == "") || m.EventID != "" && m.EventID != "slash:"+form.Get("trigger_id"):
				t.Errorf("event id %q", m.EventID)
			}
		})
	}
}

// A slash command's channel is the bot's DM when the server shows it as a
// direct channel whose name holds the bot's id: not for its name alone,
// not a DM between two others, and not before the bot knows its own id.
func TestSlashChannelDirectWith(t *testing.T) {
	dm := model.GetDMNameFromIds(formUser, formBot)
	tests := []struct {
		name  string
		ch    slashChannel
		botID string
		want  bool
	}{
		{"the DM with the bot", slashChannel{visible: true, typ: model.ChannelTypeDirect, name: dm}, formBot, true},
		{"a channel named like it", slashChannel{visible: true, team: model.NewId(), typ: model.ChannelTypeOpen, name: dm}, formBot, false},
		{"a DM between two others", slashChannel{visible: true, typ: model.ChannelTypeDirect, name: model.GetDMNameFromIds(formUser, formOther)}, formBot, false},
		{"a group message", slashChannel{visible: true, typ: model.ChannelTypeGroup, name: dm}, formBot, false},
		{"a name of non-ids", slashChannel{visible: true, typ: model.ChannelTypeDirect, name: "a__" + formBot}, formBot, false},
		{"a channel the bot may not see", slashChannel{typ: model.ChannelTypeDirect, name: dm}, formBot, false},
		{"before the bot knows its id", slashChannel{visible: true, typ: model.ChannelTypeDirect, name: dm}, "", false},
	}
	for _, tt := range tests {
		if got := tt.ch.directWith(tt.botID); got != tt.want {
			t.Errorf("%s: directWith = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// FuzzParseSlashForm feeds arbitrary request bodies through the form
// parsing and translation: no panic, and what is accepted keeps its
// promises (ids valid, the response URL carried in the Handle, the text
// trimmed).
func FuzzParseSlashForm(f *testing.F) {
	f.Add(slashForm(nil).Encode())
	f.Add(slashForm(func(v url.Values) { v.Set("channel_name", model.GetDMNameFromIds(formUser, formBot)) }).Encode())
	f.Add(slashForm(func(v url.Values) { v.Set("text", "deploy #123 \"a b\" don't @bob") }).Encode())
	f.Add("token=x&team_id=&user_id=%zz")
	f.Add("")
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return // the handler answers 400 before parsing fields
		}
		r, err := ParseSlashForm(form)
		if err != nil {
			return
		}
		if !model.IsValidId(r.TeamID) || !model.IsValidId(r.ChannelID) || !model.IsValidId(r.UserID) {
			t.Fatalf("accepted invalid ids: %+v", r)
		}
		m := r.Message(false, time.Now())
		h, ok := responseurl.Decode(m.Conversation.Handle)
		if !ok || h.URL != r.ResponseURL || h.User != r.UserID {
			t.Fatalf("handle %+v from %+v", h, r)
		}
		if m.Text != strings.TrimSpace(m.Text) || !m.Addressed || m.Platform != "mattermost" {
			t.Fatalf("message %+v", m)
		}
	})
}
