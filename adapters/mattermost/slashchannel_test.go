package mattermost

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

// forgeSlash posts a slash command request as whoever holds token would
// write it: team, channel and channel_name are the caller's to choose.
// It returns the status and, for a 200, the ephemeral text answered.
func forgeSlash(t *testing.T, h *slashHarness, token, team, channel, channelName, trigger string) (int, string) {
	t.Helper()
	form := url.Values{"token": {token}, "team_id": {team}, "channel_id": {channel}, "channel_name": {channelName},
		"user_id": {h.userID}, "user_name": {"alice"}, "command": {"/chatops"}, "text": {"echo forged"}, "trigger_id": {trigger}}
	resp, err := http.PostForm(h.url+SlashPath, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var cr model.CommandResponse
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &cr); err != nil {
			t.Fatalf("answer %q: %v", body, err)
		}
		return resp.StatusCode, cr.Text
	}
	return resp.StatusCode, string(body)
}

// A team's slash token cannot act in another team's channel: the request
// names its own team (the token's, when bound) but a channel of another
// team, which the server shows the bot is elsewhere. It is refused and
// nothing is posted there. The channel's team is looked up once.
func TestSlashChannelOfAnotherTeamIsRefused(t *testing.T) {
	h := newSlashHarness(t, nil)
	other := h.fake.AddTeam("finance", true)
	secret := h.fake.AddChannelIn(other, "payroll", model.ChannelTypeOpen, true)
	for i, token := range []string{"bound-here-token", h.cmd.Token} {
		code, body := forgeSlash(t, h, token, h.fake.TeamID, secret, "payroll", "tx"+string(rune('a'+i)))
		if code != http.StatusForbidden || !strings.Contains(body, "not in the slash command's team") {
			t.Fatalf("token %s: status %d %q; want 403 saying the channel is another team's", token, code, body)
		}
	}
	h.none(200 * time.Millisecond)
	lookups := 0
	for _, r := range h.fake.Requests() {
		if r == "GET /api/v4/channels/"+secret {
			lookups++
		}
	}
	if lookups != 1 {
		t.Errorf("the channel was looked up %d times, want once (a channel never changes team)", lookups)
	}
	// The team's own channel is served as before.
	if code, _ := forgeSlash(t, h, "bound-here-token", h.fake.TeamID, h.fake.ChannelID, "ops", "tx-home"); code != http.StatusOK {
		t.Fatalf("status %d in the team's own channel", code)
	}
	if r := h.next(); r.Post.ChannelId != h.fake.ChannelID || !strings.Contains(r.Post.Message, "forged") {
		t.Fatalf("answer %+v", r)
	}
}

// A request whose channel_name reads like the DM with the bot
// ("<bot id>__<user id>") but whose channel is a team's is no DM: a team
// outside team_ids is still refused. The real DM is served.
func TestSlashDMIsTheChannelsTypeNotItsName(t *testing.T) {
	h := newSlashHarness(t, func(c *Config) { c.TeamIDs = []string{model.NewId()} })
	dmName := model.GetDMNameFromIds(h.fake.BotID, h.userID)
	code, text := forgeSlash(t, h, h.cmd.Token, h.fake.TeamID, h.fake.ChannelID, dmName, "td-fake")
	if code != http.StatusOK || !strings.Contains(text, "does not answer in this team") {
		t.Fatalf("status %d %q; want the team refusal", code, text)
	}
	h.none(200 * time.Millisecond)
	dm := h.fake.DirectChannel(h.userID)
	if code, text := forgeSlash(t, h, h.cmd.Token, h.fake.TeamID, dm, dmName, "td-real"); code != http.StatusOK || text != "" {
		t.Fatalf("the real DM: status %d %q", code, text)
	}
	if r := h.next(); r.Post.ChannelId != dm || !strings.Contains(r.Post.Message, "forged") {
		t.Fatalf("answer in the DM %+v", r)
	}
}

// A channel the bot may not read (private, and it is not a member) has
// no team the bot can check: with a token bound to its team the command
// is refused with an ephemeral text saying what to do; with an unbound
// token and no team_ids there is nothing to check, and the command is
// answered (here in a DM: the bot may not post there, and the request
// has no response URL).
func TestSlashChannelTheBotCannotSee(t *testing.T) {
	h := newSlashHarness(t, nil)
	private := h.fake.AddChannelIn(h.fake.TeamID, "hidden", model.ChannelTypePrivate, false)
	code, text := forgeSlash(t, h, "bound-here-token", h.fake.TeamID, private, "hidden", "tp-bound")
	if code != http.StatusOK || !strings.Contains(text, "cannot see this channel") {
		t.Fatalf("status %d %q; want an ephemeral text saying the bot cannot check the channel", code, text)
	}
	h.none(200 * time.Millisecond)
	if code, text := forgeSlash(t, h, h.cmd.Token, h.fake.TeamID, private, "hidden", "tp-unbound"); code != http.StatusOK || text != "" {
		t.Fatalf("unbound token: status %d %q", code, text)
	}
	h.nextInDM(h.userID, "", "unbound token in a channel the bot cannot see")
}
