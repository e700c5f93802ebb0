package mattermost

import (
	"strings"
	"testing"
	"time"
)

// Posts in a team outside [mattermost] team_ids are ignored; direct
// messages, which belong to no team, are served.
func TestTeamAllowlist(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.TeamIDs = []string{"someotherteam"} })
	h.waitConnected(1)
	h.fake.Post(h.fake.ChannelID, h.userID, "@chatops echo foreign", "")
	h.none(200 * time.Millisecond)
	dm := h.fake.DirectChannel(h.userID)
	h.fake.Post(dm, h.userID, "echo direct", "")
	if r := h.next(); !strings.Contains(r.Post.Message, "direct") {
		t.Fatalf("DM reply %q", r.Post.Message)
	}
}
