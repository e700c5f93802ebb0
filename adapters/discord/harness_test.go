package discord

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/adapters/discord/discordtest"
	"github.com/chatops-dev/chatops/adapters/internal/adaptertest"
	"github.com/chatops-dev/chatops/bot"
)

type harness struct {
	t    testing.TB
	fake *discordtest.Server
	ad   *Adapter
	done chan error
	// waits receives the op 9 waits the adapter would have made.
	waits chan time.Duration
}

func newHarness(t testing.TB, tweak func(*Config)) *harness {
	t.Helper()
	return newHarnessWith(t, adaptertest.Router(), tweak)
}

// newHarnessWith runs handler behind the adapter against a fresh fake.
func newHarnessWith(t testing.TB, handler bot.Handler, tweak func(*Config)) *harness {
	t.Helper()
	fake := discordtest.New()
	t.Cleanup(fake.Close)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := Config{Token: fake.Token, APIURL: fake.URL(), Logger: quiet, BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond, Watchdog: 2 * time.Second}
	if tweak != nil {
		tweak(&cfg)
	}
	ad, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ad.now = fake.Now
	h := &harness{t: t, fake: fake, ad: ad, done: make(chan error, 1), waits: make(chan time.Duration, 16)}
	ad.invalidWait = func() time.Duration {
		h.waits <- invalidSessionWait() // what production would wait
		return 0
	}
	b := bot.New(handler, bot.Options{Logger: quiet, SendRetryFor: 5 * time.Second}, ad)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { h.done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(15 * time.Second):
			t.Error("bot did not stop")
		}
	})
	return h
}

func (h *harness) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	h.t.Cleanup(cancel)
	return ctx
}

// ready waits for n gateway sessions and the adapter being connected.
func (h *harness) ready(n int) {
	h.t.Helper()
	if err := h.fake.WaitSessions(h.ctx(), n); err != nil {
		h.t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for (h.ad.State() != bot.StateConnected || h.fake.Connected() == 0) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
}

func (h *harness) next() discordtest.Post {
	h.t.Helper()
	p, err := h.fake.NextPost(h.ctx())
	if err != nil {
		h.t.Fatal(err)
	}
	return p
}

func (h *harness) none(d time.Duration) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if p, err := h.fake.NextPost(ctx); err == nil {
		h.t.Fatalf("unexpected post %+v", p)
	}
}

func (h *harness) mention(channel, user, text string) string {
	return h.fake.Send(discordtest.Message{ChannelID: channel, GuildID: "g1", AuthorID: user, Content: "<@" + h.fake.BotID + "> " + text})
}

// registered waits for the /chatops command registration, which follows
// READY asynchronously.
func (h *harness) registered() {
	h.t.Helper()
	for deadline := time.Now().Add(5 * time.Second); len(h.fake.Commands()) == 0; {
		if time.Now().After(deadline) {
			h.t.Fatal("the /chatops command was never registered")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
