package discord

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/adapters/discord/discordtest"
)

// A guild outside [discord] guild_ids is ignored; allowed guilds and
// direct messages are answered.
func TestGuildAllowlist(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.GuildIDs = []string{"g1"} })
	h.ready(1)
	h.fake.Send(discordtest.Message{ChannelID: "c2", GuildID: "g2", AuthorID: "u1", Content: "<@" + h.fake.BotID + "> echo foreign"})
	h.none(200 * time.Millisecond)
	h.mention("c1", "u1", "echo home")
	if p := h.next(); !strings.Contains(p.Content, "home") {
		t.Fatalf("reply %q", p.Content)
	}
	h.fake.Send(discordtest.Message{ChannelID: "dm1", AuthorID: "u1", Content: "echo direct"})
	if p := h.next(); !strings.Contains(p.Content, "direct") {
		t.Fatalf("reply to a DM %q", p.Content)
	}
}

// A /chatops whose options are not what chatops registers (a leftover
// command with an integer option) gets a usage answer, and the adapter
// goes on serving: discordgo's StringValue would have panicked.
func TestInteractionWithUnexpectedOptionsGetsUsage(t *testing.T) {
	h := newHarness(t, nil)
	h.ready(1)
	h.fake.InteractionWith(discordtest.Interaction{ChannelID: "c1", GuildID: "g1", UserID: "u1", IntegerOption: true})
	if p := h.next(); p.Kind != "callback" { // deferred at once, as always
		t.Fatalf("first %+v", p)
	}
	if p := h.next(); !strings.Contains(p.Content, "Usage: /chatops command:") {
		t.Fatalf("answer %+v", p)
	}
	h.mention("c1", "u1", "echo still here")
	if p := h.next(); !strings.Contains(p.Content, "still here") {
		t.Fatalf("reply %q", p.Content)
	}
}

// The record of answered interaction tokens is bounded: tokens older than
// their 15-minute lifetime are forgotten.
func TestAnsweredTokensAreBounded(t *testing.T) {
	a, err := New(Config{Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	a.mu.Lock()
	for i := range 10000 {
		a.answered("token-"+strconv.Itoa(i), old)
	}
	n := len(a.answers)
	a.answered("fresh", time.Now())
	a.mu.Unlock()
	if n > 512 {
		t.Fatalf("%d expired tokens kept", n)
	}
}
