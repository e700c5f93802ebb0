package slack

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/adapters/slack/slacktest"
	"github.com/chatops-dev/chatops/bot"
)

func TestConnectHandshakeAndMentionRepliesInThread(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	d := h.fake.Mention("C1", "U1", "echo hi &amp; &lt;there&gt; <#C2|ops>")
	p := h.nextPost()
	if p.Method != "chat.postMessage" || p.Channel != "C1" || p.ThreadTS != d.TS {
		t.Fatalf("reply %s to %s thread %q, want chat.postMessage to C1 thread %q", p.Method, p.Channel, p.ThreadTS, d.TS)
	}
	// The router saw the unescaped text; the renderer escaped it again.
	wantContains(t, p, "hi \\u0026amp; \\u0026lt;there\\u0026gt; #ops")
	for _, id := range d.EnvelopeIDs {
		if _, err := h.fake.WaitAck(h.ctx(), id); err != nil {
			t.Error(err)
		}
	}
	if len(d.EnvelopeIDs) != 1 {
		t.Fatalf("a channel mention reaches the app as one app_mention (it does not subscribe to message.channels); the fake sent %d envelopes", len(d.EnvelopeIDs))
	}
	if got := h.adapter.State(); got != bot.StateConnected {
		t.Errorf("state %s, want connected", got)
	}

	// A mention inside a thread is answered in that thread.
	d2 := h.fake.MentionInThread("C1", d.TS, "U2", "echo in thread")
	p = h.nextPost()
	if p.ThreadTS != d.TS || d2.TS == d.TS {
		t.Errorf("thread reply went to thread %q, want %q", p.ThreadTS, d.TS)
	}
}

func TestMentionNotAtStartIsIgnored(t *testing.T) {
	h := newHarness(t, harnessOpts{workers: 1})
	h.fake.Inject(slacktest.Msg{Channel: "C1", User: "U1", Text: "hey <@UBOT> echo ignored"})
	h.fake.Mention("C1", "U1", "echo marker")
	if p := h.nextPost(); !strings.Contains(blocksText(p), "marker") {
		t.Fatalf("first reply is not to the marker: %s", p.Blocks)
	}
}

func TestDirectMessage(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.fake.DM("D1", "U1", "echo private")
	p := h.nextPost()
	if p.Channel != "D1" || p.ThreadTS != "" {
		t.Fatalf("DM reply to %s thread %q, want D1 top level", p.Channel, p.ThreadTS)
	}
	wantContains(t, p, "private")
}

// TestOpenDirectFromChannel: a command asked in a channel answers in a
// DM that the adapter opens with conversations.open, then in the
// channel's thread; from a DM nothing is opened.
func TestOpenDirectFromChannel(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	var _ bot.DirectOpener = h.adapter
	d := h.fake.Mention("C1", "U1", "dm for your eyes only")
	p := h.nextPost()
	if p.Method != "chat.postMessage" || p.Channel != "DU1" || p.ThreadTS != "" {
		t.Fatalf("first post %s to %s thread %q, want chat.postMessage to the DM DU1 the fake opened", p.Method, p.Channel, p.ThreadTS)
	}
	wantContains(t, p, "for your eyes only")
	p = h.nextPost()
	if p.Channel != "C1" || p.ThreadTS != d.TS {
		t.Fatalf("second post to %s thread %q, want C1 thread %q", p.Channel, p.ThreadTS, d.TS)
	}
	wantContains(t, p, "sent you a direct message")

	conv, err := h.adapter.OpenDirect(h.ctx(), bot.Message{Platform: "slack", Sender: bot.User{ID: "U2"}, Conversation: bot.Conversation{ChannelID: "C1"}})
	if err != nil || conv != (bot.Conversation{ChannelID: "DU2", Direct: true}) {
		t.Errorf("OpenDirect = %+v, %v; want DU2, direct", conv, err)
	}
	_, err = h.adapter.OpenDirect(h.ctx(), bot.Message{Platform: "slack"})
	if !bot.IsPermanent(err) {
		t.Errorf("OpenDirect without a sender: err = %v, want a permanent error", err)
	}
	// A user Slack will not let the bot write to: the error is final, so
	// the bot does not retry it.
	for _, code := range []string{"user_not_found", "user_disabled", "cannot_dm_bot"} {
		h.fake.RefuseDM("U3", code)
		before := h.fake.DMOpens()
		_, err = h.adapter.OpenDirect(h.ctx(), bot.Message{Platform: "slack", Sender: bot.User{ID: "U3"}, Conversation: bot.Conversation{ChannelID: "C1"}})
		if !bot.IsPermanent(err) || !strings.Contains(err.Error(), code) {
			t.Errorf("%s: err = %v, want a permanent error naming it", code, err)
		}
		if n := h.fake.DMOpens() - before; n != 1 {
			t.Errorf("%s: %d conversations.open calls, want 1", code, n)
		}
	}
}

func TestSlashCommandAckedBeforeWork(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	d := h.fake.SlashCommand("C1", "U1", "slow by slash")
	select {
	case <-h.started:
	case <-time.After(waitFor):
		t.Fatal("command did not start")
	}
	// The command is still running: the ack must already be there, within
	// Slack's 3 seconds.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	ack, err := h.fake.WaitAck(ctx, d.EnvelopeIDs[0])
	if err != nil {
		t.Fatalf("slash command not acked while its command runs: %v", err)
	}
	close(h.release)
	p := h.nextPost()
	if p.Channel != "C1" || p.ThreadTS != "" {
		t.Fatalf("slash reply to %s thread %q, want C1 top level", p.Channel, p.ThreadTS)
	}
	wantContains(t, p, "by slash")
	if p.At.Before(ack.AckedAt) {
		t.Error("reply was posted before the ack")
	}
}

func TestIgnoresOtherBotsAndItself(t *testing.T) {
	h := newHarness(t, harnessOpts{workers: 1})
	bd := h.fake.BotMessage("C1", "BOTHER", "echo from a bot")
	sd := h.fake.SelfMessage("D1", "echo from myself")
	h.fake.Mention("C1", "U1", "echo from a human")
	// One worker handles messages in arrival order, so a reply to either bot
	// message would come first.
	p := h.nextPost()
	wantContains(t, p, "from a human")
	for _, id := range append(bd.EnvelopeIDs, sd.EnvelopeIDs...) {
		if _, err := h.fake.WaitAck(h.ctx(), id); err != nil {
			t.Errorf("ignored envelope not acked (Slack would redeliver it): %v", err)
		}
	}
}

func TestDuplicateDeliveryHandledOnce(t *testing.T) {
	h := newHarness(t, harnessOpts{workers: 1})
	d := h.fake.Mention("C1", "U1", "echo once")
	for _, id := range d.EnvelopeIDs {
		if _, err := h.fake.Redeliver(id); err != nil {
			t.Fatal(err)
		}
	}
	h.fake.Mention("C1", "U1", "echo marker")
	if p := h.nextPost(); !strings.Contains(blocksText(p), "once") {
		t.Fatalf("first reply: %s", p.Blocks)
	}
	if p := h.nextPost(); !strings.Contains(blocksText(p), "marker") {
		t.Fatalf("second reply should be the marker (the duplicates dropped), got %s", p.Blocks)
	}
}

func TestReconnectAfterDropMidConversation(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.fake.Mention("C1", "U1", "slow across a drop")
	select {
	case <-h.started:
	case <-time.After(waitFor):
		t.Fatal("command did not start")
	}
	h.fake.DropConnections()
	close(h.release)
	wantContains(t, h.nextPost(), "across a drop")
	h.waitConnections(2)
	h.waitState(bot.StateConnected)
	h.fake.Mention("C1", "U1", "echo after reconnect")
	wantContains(t, h.nextPost(), "after reconnect")
}

func TestCommandSentWhileDisconnectedIsAnswered(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.fake.DropConnections()
	// The fake holds the envelope until the bot is back, as Slack does.
	h.fake.Mention("C1", "U1", "echo queued")
	wantContains(t, h.nextPost(), "queued")
}

func TestRefreshRequestedReconnects(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.fake.Disconnect("refresh_requested")
	h.waitConnections(2)
	h.fake.Mention("C1", "U1", "echo refreshed")
	wantContains(t, h.nextPost(), "refreshed")
}

func TestWatchdogRedialsSilentConnection(t *testing.T) {
	h := newHarness(t, harnessOpts{watchdog: 300 * time.Millisecond})
	h.fake.GoSilent()
	h.waitConnections(2)
	h.fake.Mention("C1", "U1", "echo after silence")
	wantContains(t, h.nextPost(), "after silence")
	if !strings.Contains(h.logs.String(), "Slack connection silent") {
		t.Error("the adapter's watchdog did not report the silent connection")
	}
}

func TestRateLimitedReplyRetriedAfterRetryAfter(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.fake.RateLimit("chat.postMessage", 1)
	h.fake.Mention("C1", "U1", "echo patient")
	p := h.nextPost()
	wantContains(t, p, "patient")
	limited := h.fake.RateLimited()
	if len(limited) != 1 {
		t.Fatalf("429s served: %d, want 1", len(limited))
	}
	if gap := p.At.Sub(limited[0].At); gap < time.Second {
		t.Errorf("retried %s after the 429, before Retry-After (1s)", gap)
	}
}

func TestRepliesToOneChannelStayInOrderWhileRateLimited(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.fake.RateLimit("chat.postMessage", 1)
	h.fake.Mention("C1", "U1", "echo first")
	if err := h.fake.WaitRateLimited(h.ctx(), 1); err != nil {
		t.Fatal(err)
	}
	// The first reply now waits out Retry-After; the second must not
	// overtake it.
	h.fake.Mention("C1", "U2", "echo second")
	wantContains(t, h.nextPost(), "first")
	wantContains(t, h.nextPost(), "second")
}

func TestReplyOverLimitIsCutAndAccepted(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.fake.Mention("C1", "U1", "big")
	p := h.nextPost()
	if p.Method != "chat.postMessage" {
		t.Fatalf("got %s", p.Method)
	}
	// The fake rejects what Slack rejects, so being here means accepted;
	// the tail of the log and the note survive.
	wantContains(t, p, "LAST LINE", "earlier lines not shown", "too long for Slack", "job log")
	if len(h.fake.Posts()) != 1 {
		t.Errorf("posts: %d, want 1", len(h.fake.Posts()))
	}
}

func TestProgressReplyEditedInPlace(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	d := h.fake.Mention("C1", "U1", "progress deploy")
	first := h.nextPost()
	if first.Method != "chat.postMessage" || first.ThreadTS != d.TS {
		t.Fatalf("first: %s thread %q", first.Method, first.ThreadTS)
	}
	wantContains(t, first, "working on deploy")
	second := h.nextPost()
	if second.Method != "chat.update" || second.TS != first.TS || second.Channel != "C1" {
		t.Fatalf("second: %s ts %s, want chat.update of %s", second.Method, second.TS, first.TS)
	}
	wantContains(t, second, "deploy finished")
}

func TestRunFailsOnRejectedTokens(t *testing.T) {
	fake := slacktest.New(slacktest.WithTokens("xapp-other", "xoxb-other"))
	defer fake.Close()
	a, err := New(Config{AppToken: "xapp-1-wrong", BotToken: "xoxb-wrong", APIURL: fake.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	err = a.Run(ctx, func(bot.Message) {})
	if err == nil || !strings.Contains(err.Error(), "invalid_auth") || strings.Contains(err.Error(), "xoxb-wrong") {
		t.Fatalf("Run = %v, want an invalid_auth error without the token", err)
	}
	if a.State() != bot.StateDegraded {
		t.Errorf("state %s, want degraded", a.State())
	}
}

func TestRunFailsOnRejectedAppToken(t *testing.T) {
	fake := slacktest.New(slacktest.WithTokens("xapp-other", slacktest.DefaultBotToken))
	defer fake.Close()
	a, err := New(Config{AppToken: "xapp-1-wrong", BotToken: slacktest.DefaultBotToken, APIURL: fake.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	err = a.Run(ctx, func(bot.Message) {})
	if err == nil || !strings.Contains(err.Error(), "app_token") || !strings.Contains(err.Error(), "invalid_auth") {
		t.Fatalf("Run = %v, want an invalid_auth error naming app_token", err)
	}
}

func TestNeverLogsTokens(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.fake.RateLimit("chat.postMessage", 1)
	h.fake.Mention("C1", "U1", "echo x")
	h.nextPost()
	h.fake.DropConnections()
	h.waitConnections(2)
	logs := h.logs.String()
	for _, tok := range []string{slacktest.DefaultAppToken, slacktest.DefaultBotToken, "fakeapptoken", "fakebottoken"} {
		if strings.Contains(logs, tok) {
			t.Fatalf("logs contain a token (%q)", tok)
		}
	}
	if !strings.Contains(logs, "rate limited") {
		t.Error("expected the debug logs of this flow to be captured")
	}
}

func TestSlashCommandFromChannelBotIsNotIn(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.fake.NotInChannel("C9")
	h.fake.SlashCommand("C9", "U1", "echo via response url")
	p := h.nextPost()
	if p.Method != "response_url" || p.Channel != "C9" {
		t.Fatalf("got %s to %s, want the response_url of C9", p.Method, p.Channel)
	}
	wantContains(t, p, "via response url")
}

// Socket Mode turned off for the app (a disconnect frame with reason
// link_disabled) ends Run with a clear error instead of redialling forever.
func TestLinkDisabledIsFatal(t *testing.T) {
	fake := slacktest.New(slacktest.WithPingInterval(50 * time.Millisecond))
	defer fake.Close()
	a, err := New(Config{AppToken: slacktest.DefaultAppToken, BotToken: slacktest.DefaultBotToken, APIURL: fake.APIURL(),
		BackoffMin: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- a.Run(ctx, func(bot.Message) {}) }()
	if err := fake.WaitConnections(ctx, 1); err != nil {
		t.Fatal(err)
	}
	fake.Disconnect("link_disabled")
	select {
	case err := <-ran:
		if err == nil || !strings.Contains(err.Error(), "link_disabled") || !strings.Contains(err.Error(), "Socket Mode") {
			t.Fatalf("Run = %v, want a link_disabled error", err)
		}
	case <-ctx.Done():
		t.Fatalf("Run kept going after link_disabled (%d connections)", fake.Connections())
	}
	if a.State() == bot.StateConnected {
		t.Fatal("state still connected")
	}
}

// On a disconnect warning the adapter opens its next connection while the
// old one still works, so nothing sent meanwhile waits for Slack's late
// retry of undelivered events.
func TestDisconnectWarningOpensNextConnectionFirst(t *testing.T) {
	for _, reason := range []string{"warning", "refresh_requested"} {
		t.Run(reason, func(t *testing.T) {
			h := newHarness(t, harnessOpts{fake: []slacktest.Option{
				slacktest.WithDisconnectGrace(400 * time.Millisecond),
				// Far beyond waitFor: an envelope that falls into a gap is
				// answered too late for the test.
				slacktest.WithUndeliveredRetry(time.Minute),
			}})
			h.fake.Disconnect(reason)
			const sent = 15
			for i := range sent {
				h.fake.Mention("C1", fmt.Sprintf("U%d", i), fmt.Sprintf("echo during handover %d", i))
				time.Sleep(40 * time.Millisecond) // spans the grace and the handover
			}
			for range sent {
				wantContains(t, h.nextPost(), "during handover")
			}
			spans := h.fake.Spans()
			if len(spans) < 2 {
				t.Fatalf("connections: %+v, want a second one", spans)
			}
			if old, next := spans[0], spans[1]; !next.Opened.Before(old.Closed) {
				t.Errorf("connection 2 opened %s after connection 1 closed: a gap",
					next.Opened.Sub(old.Closed))
			}
			if old := spans[0]; old.Closed.Sub(old.Opened) < 300*time.Millisecond {
				t.Errorf("connection 1 closed %s after it opened, before Slack closed it",
					old.Closed.Sub(old.Opened))
			}
			h.waitState(bot.StateConnected)
		})
	}
}
