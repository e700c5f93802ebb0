package mattermost

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/chatops-dev/chatops/bot"
)

func TestMentionInChannelIsAnsweredInItsThread(t *testing.T) {
	h := newHarness(t, nil)
	h.waitConnected(1)
	waitState(t, h.ad, bot.StateConnected)
	p := h.fake.Post(h.fake.ChannelID, h.userID, "@chatops echo fix #123 \"a b\"", "")
	r := h.next()
	if r.Post.RootId != p.Id || r.Post.ChannelId != h.fake.ChannelID {
		t.Fatalf("reply root %q channel %q, want thread %q", r.Post.RootId, r.Post.ChannelId, p.Id)
	}
	if !strings.Contains(r.Post.Message, `fix \#123 "a b"`) {
		t.Fatalf("reply = %q", r.Post.Message)
	}
	// A mention inside a thread is answered in that thread.
	reply := h.fake.Post(h.fake.ChannelID, h.userID, "@ChatOps: echo again", p.Id)
	if r := h.next(); r.Post.RootId != p.Id || reply.RootId != p.Id {
		t.Fatalf("thread reply root %q", r.Post.RootId)
	}
}

func TestDirectMessageNeedsNoMention(t *testing.T) {
	h := newHarness(t, nil)
	h.waitConnected(1)
	dm := h.fake.DirectChannel(h.userID)
	h.fake.Post(dm, h.userID, "echo hi", "")
	r := h.next()
	if r.Post.ChannelId != dm || r.Post.RootId != "" || !strings.Contains(r.Post.Message, "hi") {
		t.Fatalf("DM reply = %+v", r.Post)
	}
}

// TestOpenDirectFromChannel: a command asked in a channel answers in the
// DM the adapter opens (POST /channels/direct through Client4), then in
// the channel's thread.
func TestOpenDirectFromChannel(t *testing.T) {
	h := newHarness(t, nil)
	h.waitConnected(1)
	waitState(t, h.ad, bot.StateConnected)
	var _ bot.DirectOpener = h.ad
	p := h.fake.Post(h.fake.ChannelID, h.userID, "@chatops dm for your eyes only", "")
	r := h.next()
	if !slices.Contains(h.fake.Requests(), "POST /api/v4/channels/direct") {
		t.Fatalf("the DM was not opened; requests: %v", h.fake.Requests())
	}
	dm := h.fake.DirectChannel(h.userID) // the one the bot opened
	if r.Post.ChannelId != dm || r.Post.RootId != "" || !strings.Contains(r.Post.Message, "for your eyes only") {
		t.Fatalf("first post in %s (root %q): %q; want the DM %s", r.Post.ChannelId, r.Post.RootId, r.Post.Message, dm)
	}
	if r := h.next(); r.Post.ChannelId != h.fake.ChannelID || r.Post.RootId != p.Id || !strings.Contains(r.Post.Message, "sent you a direct message") {
		t.Fatalf("second post in %s (root %q): %q; want the command's thread", r.Post.ChannelId, r.Post.RootId, r.Post.Message)
	}

	// Opening again returns the same channel; an unknown user is refused
	// for good (400), as the server does.
	from := func(user string) bot.Message {
		return bot.Message{Platform: "mattermost", Sender: bot.User{ID: user}, Conversation: bot.Conversation{ChannelID: h.fake.ChannelID}}
	}
	if conv, err := h.ad.OpenDirect(h.ctx(), from(h.userID)); err != nil || conv != (bot.Conversation{ChannelID: dm, Direct: true}) {
		t.Errorf("second OpenDirect = %+v, %v; want %s, direct", conv, err, dm)
	}
	if _, err := h.ad.OpenDirect(h.ctx(), from(model.NewId())); !bot.IsPermanent(err) || !strings.Contains(err.Error(), "400") {
		t.Errorf("OpenDirect with an unknown user: err = %v, want a permanent 400", err)
	}
}

func TestIgnoresChatterBotsAndItself(t *testing.T) {
	h := newHarness(t, nil)
	h.waitConnected(1)
	other := h.fake.AddUser("otherbot", true)
	h.fake.Post(h.fake.ChannelID, h.userID, "hello @chatops echo not addressed", "")
	h.fake.Post(h.fake.ChannelID, h.userID, "@chatopsbot echo someone else", "")
	h.fake.PostAsBot(h.fake.ChannelID, other, "@chatops echo from a bot")
	h.fake.Post(h.fake.ChannelID, h.fake.BotID, "@chatops echo from myself", "")
	h.fake.Post(h.fake.ChannelID, h.userID, "@chatops echo sync", "")
	r := h.next()
	if !strings.Contains(r.Post.Message, "sync") {
		t.Fatalf("first reply answers something that should be ignored: %q", r.Post.Message)
	}
	// The bot's own reply was echoed back by the server; it must not loop.
	h.none(300 * time.Millisecond)
}

func TestDuplicateDeliveryHandledOnce(t *testing.T) {
	h := newHarness(t, nil)
	h.waitConnected(1)
	p := h.fake.Post(h.fake.ChannelID, h.userID, "@chatops echo once", "")
	h.fake.Redeliver(p)
	h.next()
	h.none(300 * time.Millisecond)
}

func TestReconnectsAndCatchesUpMissedPosts(t *testing.T) {
	h := newHarness(t, nil)
	h.waitConnected(1)
	h.fake.Post(h.fake.ChannelID, h.userID, "@chatops echo before", "")
	h.next()
	h.fake.SetRefuseConnections(true)
	h.fake.DropConnections()
	waitState(t, h.ad, bot.StateDegraded)
	// Posted while the bot is disconnected: only a catch-up can see it.
	h.fake.Post(h.fake.ChannelID, h.userID, "@chatops echo during the drop", "")
	h.fake.SetRefuseConnections(false)
	h.waitConnected(2)
	r := h.next()
	if !strings.Contains(r.Post.Message, "during the drop") {
		t.Fatalf("reply after reconnect = %q", r.Post.Message)
	}
	h.fake.Post(h.fake.ChannelID, h.userID, "@chatops echo after", "")
	if r := h.next(); !strings.Contains(r.Post.Message, "after") {
		t.Fatalf("reply = %q", r.Post.Message)
	}
}

func TestWatchdogRedialsSilentConnection(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Watchdog = 600 * time.Millisecond })
	h.waitConnected(1)
	// The open-but-silent socket must be torn down and redialled; the
	// handshake of a new socket is answered even while silent.
	h.fake.SetSilent(true)
	h.waitConnected(2)
	h.fake.SetSilent(false)
	h.fake.Post(h.fake.ChannelID, h.userID, "@chatops echo alive", "")
	if r := h.next(); !strings.Contains(r.Post.Message, "alive") {
		t.Fatalf("reply = %q", r.Post.Message)
	}
}

func TestRateLimitedReplyIsRetried(t *testing.T) {
	h := newHarness(t, nil)
	h.waitConnected(1)
	h.fake.FailPosts(2, 429, "0.05")
	start := time.Now()
	h.fake.Post(h.fake.ChannelID, h.userID, "@chatops echo limited", "")
	r := h.next()
	if !strings.Contains(r.Post.Message, "limited") {
		t.Fatalf("reply = %q", r.Post.Message)
	}
	if el := time.Since(start); el < 100*time.Millisecond {
		t.Fatalf("replied after %v: Retry-After was not honoured", el)
	}
}

func TestLongReplyFitsOnePost(t *testing.T) {
	h := newHarness(t, nil)
	h.waitConnected(1)
	h.fake.Post(h.fake.ChannelID, h.userID, "@chatops big", "")
	r := h.next()
	if n := utf8.RuneCountInString(r.Post.Message); n > MaxPostRunes {
		t.Fatalf("post has %d runes", n)
	}
	if !strings.Contains(r.Post.Message, "THE LAST LINE") || !strings.Contains(r.Post.Message, "earlier lines cut") {
		t.Fatalf("tail or cut note missing: %q", r.Post.Message[:200])
	}
}

func TestProgressReplyIsEditedInPlace(t *testing.T) {
	h := newHarness(t, nil)
	h.waitConnected(1)
	h.fake.Post(h.fake.ChannelID, h.userID, "@chatops progress", "")
	first := h.next()
	second := h.next()
	if first.Patch || !second.Patch || second.Post.Id != first.Post.Id || !strings.Contains(second.Post.Message, "done") {
		t.Fatalf("first %+v then %+v", first, second)
	}
}

func TestBadTokenIsAClearError(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Token = "wrong" })
	select {
	case err := <-h.done:
		if err == nil || !strings.Contains(err.Error(), "rejected the token") || strings.Contains(err.Error(), "wrong") {
			t.Fatalf("err = %v", err)
		}
		h.done <- err // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("Run kept going with a bad token")
	}
}

func waitState(t *testing.T, a *Adapter, want bot.ConnState) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for a.State() != want {
		if time.Now().After(deadline) {
			t.Fatalf("state = %v, want %v", a.State(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, c := range []Config{{}, {URL: "ftp://x", Token: "t"}, {URL: "https://mm.example.com"}} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
	if _, err := New(Config{URL: "https://mm.example.com/", Token: "t"}); err != nil {
		t.Fatal(err)
	}
	_ = context.Background
}
