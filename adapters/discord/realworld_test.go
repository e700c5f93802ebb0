package discord

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/adapters/discord/discordtest"
	"github.com/chatops-dev/chatops/bot"
)

// The tests in this file teach the adapter Discord's documented behaviour
// (issue 15); each failed against the adapter before it.

func (h *harness) runErr(within time.Duration) error {
	h.t.Helper()
	select {
	case err := <-h.done:
		h.done <- err // for the cleanup
		return err
	case <-time.After(within):
		h.t.Fatal("Run kept going")
		return nil
	}
}

func TestDisallowedIntentsEndRun(t *testing.T) {
	h := newHarness(t, nil)
	h.ready(1)
	h.fake.CloseWith(4014, "Disallowed intent(s).")
	err := h.runErr(5 * time.Second)
	if err == nil || !strings.Contains(err.Error(), "4014") || !strings.Contains(err.Error(), "Privileged Gateway Intents") {
		t.Fatalf("Run returned %v, want a clear 4014 error", err)
	}
	if h.ad.State() == bot.StateConnected {
		t.Error("state still connected")
	}
}

func TestPrivilegedIntentNotRequestedButMentionsAndDMsWork(t *testing.T) {
	h := newHarness(t, nil) // the fake refuses Message Content, like a fresh app
	h.ready(1)
	h.mention("c1", "u1", "echo guild")
	if p := h.next(); !strings.Contains(p.Content, "guild") {
		t.Fatalf("post %+v", p)
	}
	h.fake.Send(discordtest.Message{ChannelID: "dm1", AuthorID: "u1", Content: "echo dm"})
	if p := h.next(); !strings.Contains(p.Content, "dm") {
		t.Fatalf("post %+v", p)
	}
}

func TestOneGatewayConnectionThroughAnOutage(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Watchdog = 300 * time.Millisecond })
	h.ready(1)
	h.fake.RefuseConnections(true)
	h.fake.DropConnections()
	time.Sleep(800 * time.Millisecond) // the outage: longer than the watchdog, several redials
	h.mention("c1", "u1", "echo once")
	h.fake.RefuseConnections(false)
	if p := h.next(); !strings.Contains(p.Content, "once") {
		t.Fatalf("post %+v", p)
	}
	h.none(1500 * time.Millisecond) // a second session would answer again
	if n := h.fake.MaxConnected(); n != 1 {
		t.Fatalf("%d gateway connections were open at once", n)
	}
	if ids, _ := h.fake.Counts(); ids != 1 {
		t.Fatalf("%d IDENTIFYs: the session was not resumed", ids)
	}
}

func TestReconnectOpcodeResumesThroughResumeURL(t *testing.T) {
	h := newHarness(t, nil)
	h.ready(1)
	h.fake.RequestReconnect()
	h.mention("c1", "u1", "echo replayed")
	h.ready(2)
	if p := h.next(); !strings.Contains(p.Content, "replayed") {
		t.Fatalf("post %+v", p)
	}
	ids, resumes := h.fake.Counts()
	if ids != 1 || resumes != 1 || h.fake.ResumedVia() != 1 {
		t.Fatalf("%d identifies, %d resumes, %d through resume_gateway_url", ids, resumes, h.fake.ResumedVia())
	}
}

func TestInvalidSession(t *testing.T) {
	h := newHarness(t, nil)
	h.ready(1)
	wait := func() {
		t.Helper()
		select {
		case d := <-h.waits:
			if d < time.Second || d > 5*time.Second {
				t.Errorf("waited %v after op 9, want 1–5 s", d)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no wait after op 9")
		}
	}
	h.fake.InvalidateSessions(true) // resumable
	wait()
	h.ready(2)
	if ids, resumes := h.fake.Counts(); ids != 1 || resumes != 1 {
		t.Fatalf("d=true: %d identifies, %d resumes, want a resume", ids, resumes)
	}
	h.fake.InvalidateSessions(false)
	wait()
	h.ready(3)
	if ids, _ := h.fake.Counts(); ids != 2 {
		t.Fatalf("d=false: %d identifies, want a new IDENTIFY", ids)
	}
	h.mention("c1", "u1", "echo new session")
	if p := h.next(); !strings.Contains(p.Content, "new session") {
		t.Fatalf("post %+v", p)
	}
}

func TestManagedRoleMentionAddressesTheBot(t *testing.T) {
	h := newHarness(t, nil)
	h.ready(1)
	h.fake.AddGuild("g1", "r1")
	h.fake.Send(discordtest.Message{ChannelID: "c1", GuildID: "g1", AuthorID: "u1", Content: "<@&r19> echo other bot's role"})
	h.fake.Send(discordtest.Message{ChannelID: "c1", GuildID: "g1", AuthorID: "u1", Content: "<@&r1> echo by role"})
	if p := h.next(); !strings.Contains(p.Content, "by role") {
		t.Fatalf("post %+v", p)
	}
	h.none(200 * time.Millisecond)
}

func TestDeferredReplyAnsweredOnlyAfterItsEditSucceeded(t *testing.T) {
	h := newHarness(t, nil)
	h.ready(1)
	h.fake.FailNext(1, "/webhooks/", 500)
	h.fake.Interaction("c1", "g1", "u1", "progress")
	if p := h.next(); p.Kind != "callback" {
		t.Fatalf("first %+v", p)
	}
	if p := h.next(); p.Kind != "edit-original" || !strings.Contains(p.Content, "working") {
		t.Fatalf("after a failed edit the reply was %+v, want the deferred reply edited", p)
	}
	if p := h.next(); p.Kind != "edit-original" || !strings.Contains(p.Content, "done") {
		t.Fatalf("progress %+v", p)
	}
}

// interactionConv answers /chatops once and returns its conversation.
func interactionConv(t *testing.T, h *harness, in discordtest.Interaction) bot.Conversation {
	t.Helper()
	h.registered()
	id := h.fake.InteractionWith(in)
	if p := h.next(); p.Kind != "callback" {
		t.Fatalf("first %+v", p)
	}
	if p := h.next(); p.Kind != "edit-original" {
		t.Fatalf("answer %+v", p)
	}
	// What the adapter put in Handle at receive time (as a store would
	// have kept it).
	return bot.Conversation{ChannelID: in.ChannelID, Handle: interactionHandle{Token: "itoken-" + id, Issued: h.fake.Now(), CanPost: !in.CannotPost}.encode()}
}

func TestExpiredInteractionTokenPostsInChannelWhereAllowed(t *testing.T) {
	h := newHarness(t, nil)
	h.ready(1)
	conv := interactionConv(t, h, discordtest.Interaction{ChannelID: "c1", GuildID: "g1", UserID: "u1", Text: "echo hi"})
	h.fake.Advance(16 * time.Minute)
	sent, err := h.ad.Edit(h.ctx(), bot.Sent{Conversation: conv, ID: "@original"}, bot.Reply{Status: bot.StatusSuccess, Title: "late"})
	if err != nil {
		t.Fatal(err)
	}
	if p := h.next(); p.Kind != "create" || p.ChannelID != "c1" || !strings.Contains(p.Content, "late") {
		t.Fatalf("post %+v", p)
	}
	// The new message is what later edits change.
	if _, err := h.ad.Edit(h.ctx(), sent, bot.Reply{Status: bot.StatusSuccess, Title: "later"}); err != nil {
		t.Fatal(err)
	}
	if p := h.next(); p.Kind != "edit" || !strings.Contains(p.Content, "later") {
		t.Fatalf("post %+v", p)
	}
}

func TestExpiredInteractionTokenNeverPostsWhereTheBotMayNot(t *testing.T) {
	h := newHarness(t, nil)
	h.ready(1)
	h.fake.NoAccess("c9")
	conv := interactionConv(t, h, discordtest.Interaction{ChannelID: "c9", GuildID: "g1", UserID: "u1", Text: "echo hi", CannotPost: true})
	h.fake.Advance(16 * time.Minute)
	for range 2 {
		_, err := h.ad.Edit(h.ctx(), bot.Sent{Conversation: conv, ID: "@original"}, bot.Reply{Title: "late"})
		if !bot.IsPermanent(err) {
			t.Fatalf("err = %v, want a permanent error", err)
		}
	}
	if r := h.fake.Rejected(); len(r) != 0 {
		t.Fatalf("the adapter tried to post where it may not: %+v", r)
	}
}

func TestRateLimitWaitIsBoundedAndCancelable(t *testing.T) {
	h := newHarness(t, nil)
	h.ready(1)
	h.registered()
	h.fake.RateLimitNextFor(1, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := h.ad.Send(ctx, bot.Conversation{ChannelID: "c1"}, bot.Reply{Text: "x"})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("sent through an hour-long rate limit")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Send is still waiting out a one-hour 429")
	}
	// Within the bound, the wait ends with the context.
	h.fake.RateLimitNextFor(1, 10*time.Second)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	start := time.Now()
	_, err := h.ad.Send(ctx2, bot.Conversation{ChannelID: "c1"}, bot.Reply{Text: "x"})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("err %v after %v, want the context's end", err, time.Since(start))
	}
}
