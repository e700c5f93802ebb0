package slack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/adapters/internal/adaptertest"
	"github.com/chatops-dev/chatops/adapters/slack/slacktest"
	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/bottest"
	"github.com/chatops-dev/chatops/commands"
)

// waitFor bounds every wait in these tests.
const waitFor = 10 * time.Second

// harness runs the real bot runtime and router over the adapter against
// the fake Slack.
type harness struct {
	t       testing.TB
	fake    *slacktest.Server
	adapter *Adapter
	logs    *bottest.Buffer
	release chan struct{} // lets the "slow" command finish
	started chan string   // the "slow" command reports it started
	done    chan error
}

type harnessOpts struct {
	workers  int
	watchdog time.Duration
	fake     []slacktest.Option
	quiet    bool // discard logs (benchmarks)
	teams    []string
	plugins  []commands.Plugin
}

func newHarness(t testing.TB, o harnessOpts) *harness {
	t.Helper()
	if o.workers == 0 {
		o.workers = 8
	}
	if o.watchdog == 0 {
		o.watchdog = 2 * time.Second
	}
	fake := slacktest.New(append([]slacktest.Option{slacktest.WithPingInterval(50 * time.Millisecond)}, o.fake...)...)
	t.Cleanup(fake.Close)
	h := &harness{t: t, fake: fake, logs: &bottest.Buffer{}, release: make(chan struct{}), started: make(chan string, 16), done: make(chan error, 1)}
	var sink io.Writer = h.logs
	if o.quiet {
		sink = io.Discard
	}
	log := slog.New(slog.NewTextHandler(sink, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := New(Config{AppToken: slacktest.DefaultAppToken, BotToken: slacktest.DefaultBotToken,
		APIURL: fake.APIURL(), Logger: log, BackoffMin: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond,
		Watchdog: o.watchdog, TeamIDs: o.teams})
	if err != nil {
		t.Fatal(err)
	}
	h.adapter = a
	rt := testRouter(h)
	for _, p := range o.plugins {
		if err := rt.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	b := bot.New(rt, bot.Options{Workers: o.workers, Logger: log, ShutdownGrace: 2 * time.Second, SendRetryFor: 5 * time.Second}, a)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { h.done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-h.done:
			if err != nil {
				t.Errorf("bot.Run: %v", err)
			}
		case <-time.After(waitFor):
			t.Error("bot did not stop")
		}
		if t.Failed() {
			t.Logf("adapter logs:\n%s", h.logs.String())
		}
	})
	h.waitConnections(1)
	return h
}

// testRouter has the commands the tests drive.
func testRouter(h *harness) *commands.Router {
	rt := commands.NewRouter("chatops")
	rt.MustHandle(adaptertest.DMCommand())
	rt.MustHandle(commands.Command{Name: "echo", Summary: "say it back", Handler: commands.HandlerFunc(
		func(ctx context.Context, w bot.Responder, r *commands.Request) error {
			_, err := w.Reply(ctx, bot.Reply{Text: r.RawArgs})
			return err
		})})
	rt.MustHandle(commands.Command{Name: "slow", Summary: "waits for the test", Handler: commands.HandlerFunc(
		func(ctx context.Context, w bot.Responder, r *commands.Request) error {
			h.started <- r.RawArgs
			select {
			case <-h.release:
			case <-ctx.Done():
				return ctx.Err()
			}
			_, err := w.Reply(ctx, bot.Reply{Status: bot.StatusSuccess, Title: "done", Text: r.RawArgs})
			return err
		})})
	rt.MustHandle(commands.Command{Name: "progress", Summary: "posts then edits", Handler: commands.HandlerFunc(
		func(ctx context.Context, w bot.Responder, r *commands.Request) error {
			sent, err := w.Reply(ctx, bot.Reply{Status: bot.StatusWorking, Title: "working on " + r.RawArgs})
			if err != nil {
				return err
			}
			_, err = w.Update(ctx, sent, bot.Reply{Status: bot.StatusSuccess, Title: r.RawArgs + " finished"})
			return err
		})})
	rt.MustHandle(commands.Command{Name: "states", Summary: "a run's life: working, five progress edits, a result", Handler: commands.HandlerFunc(
		func(ctx context.Context, w bot.Responder, r *commands.Request) error {
			sent, err := w.Reply(ctx, bot.Reply{Status: bot.StatusWorking, Title: "pipeline created"})
			if err != nil {
				return err
			}
			for i := range 5 {
				if sent, err = w.Update(ctx, sent, bot.Reply{Status: bot.StatusWorking, Title: fmt.Sprintf("running, step %d", i)}); err != nil {
					return err
				}
			}
			_, err = w.Update(ctx, sent, bot.Reply{Status: bot.StatusSuccess, Title: "result: " + r.RawArgs})
			return err
		})})
	rt.MustHandle(commands.Command{Name: "big", Summary: "a reply over Slack's limits", Handler: commands.HandlerFunc(
		func(ctx context.Context, w bot.Responder, r *commands.Request) error {
			_, err := w.Reply(ctx, bigReply())
			return err
		})})
	for name, reply := range map[string]bot.Reply{"markdown": adaptertest.MarkdownReply(), "bigmarkdown": adaptertest.BigMarkdownReply()} {
		rt.MustHandle(commands.Command{Name: name, Summary: "a job's Markdown", Handler: commands.HandlerFunc(
			func(ctx context.Context, w bot.Responder, r *commands.Request) error {
				_, err := w.Reply(ctx, reply)
				return err
			})})
	}
	return rt
}

// bigReply is far over every Slack limit: 200k characters of prose and
// 200k of log.
func bigReply() bot.Reply {
	var log strings.Builder
	for i := range 4000 {
		fmt.Fprintf(&log, "line %05d <&> some job output here\n", i)
	}
	log.WriteString("LAST LINE\n")
	return bot.Reply{Status: bot.StatusFailure, Title: strings.Repeat("very long title ", 20),
		Text: strings.Repeat("prose & more prose. ", 10000), Code: log.String(),
		Fields: []bot.Field{{Name: "job", Value: "deploy"}},
		Links:  []bot.Link{{Label: "job log", URL: "https://gitlab.example/job/1"}}}
}

func (h *harness) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	h.t.Cleanup(cancel)
	return ctx
}

func (h *harness) waitConnections(n int) {
	h.t.Helper()
	if err := h.fake.WaitConnections(h.ctx(), n); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) nextPost() slacktest.Post {
	h.t.Helper()
	p, err := h.fake.NextPost(h.ctx())
	if err != nil {
		h.t.Fatal(err)
	}
	return p
}

// waitState polls the adapter's state until want or the deadline.
func (h *harness) waitState(want bot.ConnState) {
	h.t.Helper()
	ctx := h.ctx()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for h.adapter.State() != want {
		select {
		case <-ctx.Done():
			h.t.Fatalf("state is %s, want %s", h.adapter.State(), want)
		case <-tick.C:
		}
	}
}

// blocksText is all the text in a post's blocks, for assertions.
func blocksText(p slacktest.Post) string { return string(p.Blocks) }

func wantContains(t testing.TB, p slacktest.Post, parts ...string) {
	t.Helper()
	for _, s := range parts {
		if !strings.Contains(blocksText(p), s) {
			t.Errorf("post %s to %s has no %q; blocks: %.400s", p.Method, p.Channel, s, p.Blocks)
		}
	}
}
