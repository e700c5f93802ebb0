package discord

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/chatops-dev/chatops/adapters/discord/discordtest"
	"github.com/chatops-dev/chatops/bot"
)

func TestHandshakeAndMentionReply(t *testing.T) {
	h := newHarness(t, nil)
	h.ready(1)
	// No privileged intent: mentions and DMs carry content without it.
	if in, want := h.fake.Intents(), int(discordgo.IntentsGuilds|discordgo.IntentsGuildMessages|discordgo.IntentsDirectMessages); in != want {
		t.Fatalf("intents %b, want %b", in, want)
	}
	id := h.mention("c1", "u1", `echo fix #123 "a b"`)
	p := h.next()
	if p.Kind != "create" || p.ChannelID != "c1" || p.ReplyTo != id || !strings.Contains(p.Content, `fix \#123 "a b"`) {
		t.Fatalf("post %+v", p)
	}
	// The nickname form <@!id> addresses the bot too.
	h.fake.Send(discordtest.Message{ChannelID: "c1", GuildID: "g1", AuthorID: "u1", Content: "<@!" + h.fake.BotID + ">, echo nick"})
	if p := h.next(); !strings.Contains(p.Content, "nick") {
		t.Fatalf("post %+v", p)
	}
}

func TestDirectMessage(t *testing.T) {
	h := newHarness(t, nil)
	h.ready(1)
	h.fake.Send(discordtest.Message{ChannelID: "dm1", AuthorID: "u1", Content: "echo hi"})
	if p := h.next(); p.ChannelID != "dm1" || p.ReplyTo != "" || !strings.Contains(p.Content, "hi") {
		t.Fatalf("post %+v", p)
	}
}

// TestOpenDirectFromChannel: a command asked in a guild channel (by
// mention or /chatops) answers in the DM the adapter opens through
// discordgo (POST /users/@me/channels), then where it was asked; a user
// who refuses the bot's DMs gets the failure in the channel, not retried.
func TestOpenDirectFromChannel(t *testing.T) {
	h := newHarness(t, nil)
	h.ready(1)
	h.registered()
	var _ bot.DirectOpener = h.ad
	id := h.mention("c1", "42", "dm for your eyes only")
	p := h.next()
	dm := h.fake.DMChannel("42")
	if dm == "" || p.Kind != "create" || p.ChannelID != dm || p.ReplyTo != "" || !strings.Contains(p.Content, "for your eyes only") {
		t.Fatalf("first post %+v, want a message in the DM channel %q", p, dm)
	}
	if p := h.next(); p.Kind != "create" || p.ChannelID != "c1" || p.ReplyTo != id || !strings.Contains(p.Content, "sent you a direct message") {
		t.Fatalf("second post %+v, want a reply to the command in c1", p)
	}

	h.fake.Interaction("c1", "g1", "42", "dm by slash")
	if p := h.next(); p.Kind != "callback" {
		t.Fatalf("first answer %+v, want the deferred callback", p)
	}
	if p := h.next(); p.Kind != "create" || p.ChannelID != dm || !strings.Contains(p.Content, "by slash") {
		t.Fatalf("post %+v, want a message in the same DM channel %q", p, dm)
	}
	if p := h.next(); p.Kind != "edit-original" || !strings.Contains(p.Content, "sent you a direct message") {
		t.Fatalf("post %+v, want the deferred answer edited", p)
	}
	if n := h.fake.DMsOpened(); n != 2 {
		t.Errorf("%d DM opens, want 2", n)
	}

	h.fake.CloseDMs("43")
	id = h.mention("c1", "43", "dm never delivered")
	if p := h.next(); p.ChannelID != "c1" || p.ReplyTo != id || !strings.Contains(p.Content, "50007") {
		t.Fatalf("post %+v, want the failure in c1", p)
	}
	if r := h.fake.Rejected(); len(r) != 1 || r[0].ChannelID != h.fake.DMChannel("43") {
		t.Errorf("rejected writes %+v, want the one DM, not retried", r)
	}

	_, err := h.ad.OpenDirect(h.ctx(), bot.Message{Platform: "discord", Sender: bot.User{ID: "not-a-snowflake"}})
	if !bot.IsPermanent(err) || !strings.Contains(err.Error(), "50035") {
		t.Errorf("OpenDirect for an invalid id: err = %v, want a permanent Invalid Form Body", err)
	}
}

func TestApplicationCommandIsDeferredThenAnswered(t *testing.T) {
	h := newHarness(t, nil)
	h.ready(1)
	h.registered()
	if len(h.fake.Commands()) != 1 || !strings.Contains(string(h.fake.Commands()[0]), `"chatops"`) {
		t.Fatalf("registered commands %s", h.fake.Commands())
	}
	start := time.Now()
	h.fake.Interaction("c1", "g1", "u1", "progress")
	if p := h.next(); p.Kind != "callback" || p.CallbackType != int(discordgo.InteractionResponseDeferredChannelMessageWithSource) || time.Since(start) > 3*time.Second {
		t.Fatalf("first answer %+v after %v", p, time.Since(start))
	}
	if p := h.next(); p.Kind != "edit-original" || !strings.Contains(p.Content, "working") {
		t.Fatalf("reply %+v", p)
	}
	if p := h.next(); p.Kind != "edit-original" || !strings.Contains(p.Content, "done") {
		t.Fatalf("progress edit %+v", p)
	}
}

func TestIgnoresBotsItselfAndChatter(t *testing.T) {
	h := newHarness(t, nil)
	h.ready(1)
	h.fake.Send(discordtest.Message{ChannelID: "c1", GuildID: "g1", AuthorID: "u9", Bot: true, Content: "<@" + h.fake.BotID + "> echo from a bot"})
	h.fake.Send(discordtest.Message{ChannelID: "c1", GuildID: "g1", AuthorID: h.fake.BotID, Content: "<@" + h.fake.BotID + "> echo from myself"})
	h.fake.Send(discordtest.Message{ChannelID: "c1", GuildID: "g1", AuthorID: "u1", Content: "talking about <@" + h.fake.BotID + "> echo"})
	h.mention("c1", "u1", "echo sync")
	if p := h.next(); !strings.Contains(p.Content, "sync") {
		t.Fatalf("answered an ignored message: %+v", p)
	}
	h.none(200 * time.Millisecond)
}

func TestDuplicateDeliveryHandledOnce(t *testing.T) {
	h := newHarness(t, nil)
	h.ready(1)
	id := h.mention("c1", "u1", "echo once")
	h.fake.Send(discordtest.Message{ID: id, ChannelID: "c1", GuildID: "g1", AuthorID: "u1", Content: "<@" + h.fake.BotID + "> echo once"})
	h.next()
	h.none(200 * time.Millisecond)
}

func TestReconnectsAfterDrop(t *testing.T) {
	h := newHarness(t, nil)
	h.ready(1)
	h.fake.DropConnections()
	// Sent while the bot is away: the RESUME replays it.
	h.mention("c1", "u1", "echo back")
	h.ready(2)
	if p := h.next(); !strings.Contains(p.Content, "back") {
		t.Fatalf("post %+v", p)
	}
	if ids, resumes := h.fake.Counts(); ids != 1 || resumes == 0 {
		t.Fatalf("%d identifies, %d resumes: the dropped session was not resumed", ids, resumes)
	}
}

func TestSilentGatewayIsRedialled(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Watchdog = 400 * time.Millisecond })
	h.ready(1)
	h.fake.SetSilent(true)
	if err := h.fake.WaitSessions(h.ctx(), 2); err != nil {
		t.Fatal(err)
	}
	h.fake.SetSilent(false)
	h.ready(2)
	h.mention("c1", "u1", "echo alive")
	if p := h.next(); !strings.Contains(p.Content, "alive") {
		t.Fatalf("post %+v", p)
	}
}

func TestRateLimitedReplyIsRetried(t *testing.T) {
	h := newHarness(t, nil)
	h.ready(1)
	h.registered() // so the 429s hit the reply, not the command registration
	h.fake.RateLimitNext(2)
	h.mention("c1", "u1", "echo limited")
	if p := h.next(); !strings.Contains(p.Content, "limited") {
		t.Fatalf("post %+v", p)
	}
	if n := h.fake.RateLimited(); n != 2 {
		t.Fatalf("the fake served %d 429s, want 2 before the reply went through", n)
	}
}

func TestLongReplyFitsOneMessage(t *testing.T) {
	h := newHarness(t, nil)
	h.ready(1)
	h.mention("c1", "u1", "big")
	p := h.next()
	if n := utf8.RuneCountInString(p.Content); n > MaxMessageRunes || !strings.Contains(p.Content, "THE LAST LINE") {
		t.Fatalf("%d runes, tail kept: %v", n, strings.Contains(p.Content, "THE LAST LINE"))
	}
}

func TestProgressEditedInPlace(t *testing.T) {
	h := newHarness(t, nil)
	h.ready(1)
	h.mention("c1", "u1", "progress")
	first, second := h.next(), h.next()
	if first.Kind != "create" || second.Kind != "edit" || second.MessageID != first.MessageID || !strings.Contains(second.Content, "done") {
		t.Fatalf("%+v then %+v", first, second)
	}
}

func TestBadTokenIsAClearError(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Token = "wrong" })
	select {
	case err := <-h.done:
		if err == nil || !strings.Contains(err.Error(), "rejected the token") || strings.Contains(err.Error(), "wrong") {
			t.Fatalf("err = %v", err)
		}
		h.done <- err
	case <-time.After(10 * time.Second):
		t.Fatal("Run kept going with a bad token")
	}
}

func TestStripMention(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		ok       bool
	}{
		{"<@1000> run x", "run x", true},
		{"  <@!1000>: run x", "run x", true},
		{"<@1000>", "", true},
		{"<@10000> run", "<@10000> run", false},
		{"hi <@1000>", "hi <@1000>", false},
	} {
		if got, ok := stripMention(tt.in, "1000"); got != tt.want || ok != tt.ok {
			t.Errorf("stripMention(%q) = %q, %v", tt.in, got, ok)
		}
	}
}

func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{"<@1000> run deploy", "<@!1000>", "", "<@1000", "hi"} {
		f.Add(s, "g1")
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, content, guild string) {
		m, ok := ParseMessage(&discordgo.Message{ID: "1", ChannelID: "c", GuildID: guild, Content: content, Author: &discordgo.User{ID: "u"}}, "1000")
		if !ok {
			t.Fatal("a default message was skipped")
		}
		if !strings.HasSuffix(content, m.Text) {
			t.Fatalf("%q is not a suffix of %q", m.Text, content)
		}
		if guild == "" && !m.Addressed {
			t.Fatal("a DM must be addressed")
		}
	})
}
