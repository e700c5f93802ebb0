package mattermost

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/adapters/internal/adaptertest"

	"github.com/chatops-dev/chatops/adapters/mattermost/mattermosttest"
	"github.com/chatops-dev/chatops/bot"
)

// harness runs the real bot with the adapter against the fake server.
type harness struct {
	t      testing.TB
	fake   *mattermosttest.Server
	ad     *Adapter
	userID string
	done   chan error
	cancel context.CancelFunc
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newHarness(t testing.TB, tweak func(*Config)) *harness {
	t.Helper()
	return newHarnessWith(t, adaptertest.Router(), tweak)
}

// newHarnessWith is newHarness with the bot's handler chosen by the test.
func newHarnessWith(t testing.TB, handler bot.Handler, tweak func(*Config)) *harness {
	t.Helper()
	return newHarnessFor(t, func(string) bot.Handler { return handler }, tweak)
}

// newHarnessFor is newHarnessWith for a handler that depends on the chat
// user's id (an identity mapped to GitLab): handler gets it before the bot
// starts.
func newHarnessFor(t testing.TB, handler func(userID string) bot.Handler, tweak func(*Config)) *harness {
	t.Helper()
	fake := mattermosttest.New()
	t.Cleanup(fake.Close)
	h := &harness{t: t, fake: fake, userID: fake.AddUser("alice", false)}
	h.start(handler(h.userID), tweak)
	return h
}

// start starts a new adapter and bot against the harness's fake server.
func (h *harness) start(handler bot.Handler, tweak func(*Config)) {
	t := h.t
	t.Helper()
	cfg := Config{URL: h.fake.URL(), Token: h.fake.BotToken, Logger: quietLog(),
		BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond, Watchdog: 2 * time.Second}
	if tweak != nil {
		tweak(&cfg)
	}
	ad, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.ad, h.done = ad, make(chan error, 1)
	b := bot.New(handler, bot.Options{Logger: quietLog(), SendRetryFor: 5 * time.Second}, ad)
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	done := h.done
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() { h.stopBot(cancel, done) })
}

// stop stops the running bot, as a process that exits.
func (h *harness) stop() { h.stopBot(h.cancel, h.done) }

func (h *harness) stopBot(cancel context.CancelFunc, done chan error) {
	cancel()
	select {
	case <-done:
		done <- nil // a later stop of the same bot returns at once
	case <-time.After(10 * time.Second):
		h.t.Error("bot did not stop")
	}
}

func (h *harness) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	h.t.Cleanup(cancel)
	return ctx
}

func (h *harness) waitConnected(n int) {
	h.t.Helper()
	if err := h.fake.WaitConnected(h.ctx(), n); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) next() mattermosttest.Record {
	h.t.Helper()
	r, err := h.fake.NextBotPost(h.ctx())
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

// nextInDM checks that the bot's next post is a plain post (not an
// ephemeral or response-URL answer) in user's DM with the bot, holding
// want; why names the case in the failure.
func (h *harness) nextInDM(user, want, why string) {
	h.t.Helper()
	r := h.next()
	if r.Webhook || r.Ephemeral || r.Post.ChannelId != h.fake.DirectChannel(user) || !strings.Contains(r.Post.Message, want) {
		h.t.Fatalf("%s: answer %+v: %q; want a post holding %q in the DM", why, r, r.Post.Message, want)
	}
}

func (h *harness) none(d time.Duration) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if r, err := h.fake.NextBotPost(ctx); err == nil {
		h.t.Fatalf("unexpected bot post %q", r.Post.Message)
	}
}
