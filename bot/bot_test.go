package bot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// chanAdapter is an in-memory adapter: tests push messages in and read the
// replies it was asked to send.
type chanAdapter struct {
	in      chan Message
	sent    chan Reply
	failN   atomic.Int32 // fail this many sends first
	stopped chan struct{}
}

func newChanAdapter() *chanAdapter {
	return &chanAdapter{in: make(chan Message), sent: make(chan Reply, 100), stopped: make(chan struct{})}
}

func (a *chanAdapter) Name() string { return "test" }

func (a *chanAdapter) Run(ctx context.Context, deliver func(Message)) error {
	defer close(a.stopped)
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-a.in:
			if !ok {
				return nil // end of input, like the terminal's EOF
			}
			deliver(m)
		}
	}
}

func (a *chanAdapter) Send(_ context.Context, _ Conversation, r Reply) (Sent, error) {
	if a.failN.Add(-1) >= 0 {
		return Sent{}, errors.New("connection reset")
	}
	a.sent <- r
	return Sent{ID: "x"}, nil
}

func (a *chanAdapter) next(t *testing.T) Reply {
	t.Helper()
	select {
	case r := <-a.sent:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no reply within 5s")
		return Reply{}
	}
}

func (a *chanAdapter) none(t *testing.T) {
	t.Helper()
	select {
	case r := <-a.sent:
		t.Fatalf("unexpected reply %+v", r)
	default:
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func echo() Handler {
	return HandlerFunc(func(ctx context.Context, w Responder, m Message) {
		_, _ = w.Reply(ctx, Reply{Title: m.Text})
	})
}

// startBot runs a bot over a chanAdapter. The returned channel yields Run's
// result once and is then closed, so the cleanup can wait on it too.
func startBot(t *testing.T, h Handler, opts Options) (*chanAdapter, context.CancelFunc, <-chan error) {
	t.Helper()
	a := newChanAdapter()
	if opts.Logger == nil {
		opts.Logger = quiet()
	}
	b := New(h, opts, a)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("bot did not stop")
		}
	})
	return a, cancel, done
}

func msg(id, text string) Message {
	return Message{Platform: "test", EventID: id, Text: text, Addressed: true, Sender: User{ID: "U1"}}
}

func TestBotFiltersMessages(t *testing.T) {
	a, _, _ := startBot(t, echo(), Options{})
	self := msg("1", "from myself")
	self.Sender.IsSelf = true
	other := msg("2", "from another bot")
	other.Sender.IsBot = true
	chatter := msg("3", "people talking")
	chatter.Addressed = false
	for _, m := range []Message{self, other, chatter, msg("4", "hello")} {
		a.in <- m
	}
	if got := a.next(t).Title; got != "hello" {
		t.Fatalf("first reply %q: a filtered message got through", got)
	}
	a.in <- msg("5", "sync") // Run delivers in order, so this proves nothing else is pending
	if got := a.next(t).Title; got != "sync" {
		t.Fatalf("got %q", got)
	}
	a.none(t)
}

func TestBotDropsDuplicateEvents(t *testing.T) {
	a, _, _ := startBot(t, echo(), Options{DedupeSize: 2})
	a.in <- msg("e1", "first")
	a.in <- msg("e1", "first again")
	a.in <- msg("", "no id is never deduplicated")
	a.in <- msg("", "no id is never deduplicated")
	got := map[string]int{}
	for range 3 {
		got[a.next(t).Title]++
	}
	if got["first"] != 1 || got["first again"] != 0 || got["no id is never deduplicated"] != 2 {
		t.Fatalf("replies %v", got)
	}
	// The ring forgets old ids: after two newer ones, e1 is new again.
	a.in <- msg("e2", "two")
	a.in <- msg("e3", "three")
	a.in <- msg("e1", "first, much later")
	for range 3 {
		got[a.next(t).Title]++
	}
	if got["first, much later"] != 1 {
		t.Fatalf("replies %v", got)
	}
}

func TestBotRecoversPanics(t *testing.T) {
	h := HandlerFunc(func(ctx context.Context, w Responder, m Message) {
		if m.Text == "panic" {
			panic("boom")
		}
		_, _ = w.Reply(ctx, Reply{Title: m.Text})
	})
	a, _, _ := startBot(t, h, Options{Workers: 1})
	a.in <- msg("1", "panic")
	if r := a.next(t); r.Status != StatusError || !strings.Contains(r.Text, "still running") {
		t.Fatalf("panic reply = %+v", r)
	}
	a.in <- msg("2", "still here")
	if r := a.next(t); r.Title != "still here" {
		t.Fatalf("after panic: %+v", r)
	}
}

func TestBotBoundsConcurrency(t *testing.T) {
	const workers = 3
	var running, peak atomic.Int32
	release := make(chan struct{})
	h := HandlerFunc(func(ctx context.Context, w Responder, m Message) {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		running.Add(-1)
		_, _ = w.Reply(ctx, Reply{Title: m.Text})
	})
	// One sender: per-user limits are lifted to test the pool alone.
	a, _, _ := startBot(t, h, Options{Workers: workers, Queue: 20, PerUserConcurrent: 100, PerUserBurst: 100})
	for i := range 10 {
		a.in <- msg(fmt.Sprint(i), fmt.Sprint(i))
	}
	// Wait until the pool is saturated, then check no more started.
	deadline := time.Now().Add(5 * time.Second)
	for running.Load() < workers && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := running.Load(); got != workers {
		t.Fatalf("running = %d, want %d", got, workers)
	}
	close(release)
	for range 10 {
		a.next(t)
	}
	if p := peak.Load(); p != workers {
		t.Fatalf("peak concurrency = %d, want %d", p, workers)
	}
}

func TestBotTellsSenderWhenQueueIsFull(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	h := HandlerFunc(func(ctx context.Context, w Responder, m Message) { <-release })
	a, _, _ := startBot(t, h, Options{Workers: 1, Queue: 1})
	a.in <- msg("1", "occupies the worker")
	// The second fills the queue (maybe after the first was taken); the
	// third or fourth must be refused with a busy notice.
	a.in <- msg("2", "queued")
	a.in <- msg("3", "queued or refused")
	a.in <- msg("4", "refused")
	if r := a.next(t); r.Title != "chatops is busy" {
		t.Fatalf("reply = %+v", r)
	}
}

func TestBotRetriesFailedSends(t *testing.T) {
	a, _, _ := startBot(t, echo(), Options{SendRetryFor: 10 * time.Second})
	a.failN.Store(2)
	a.in <- msg("1", "owed")
	if r := a.next(t); r.Title != "owed" {
		t.Fatalf("reply = %+v", r)
	}
}

func TestBotShutdownLetsInFlightFinish(t *testing.T) {
	started := make(chan struct{})
	h := HandlerFunc(func(ctx context.Context, w Responder, m Message) {
		close(started)
		time.Sleep(100 * time.Millisecond) // simulated work that ignores nothing: ctx stays alive during grace
		if ctx.Err() != nil {
			return
		}
		_, _ = w.Reply(ctx, Reply{Title: "finished"})
	})
	a, cancel, done := startBot(t, h, Options{ShutdownGrace: 5 * time.Second})
	a.in <- msg("1", "work")
	<-started
	cancel()
	if r := a.next(t); r.Title != "finished" {
		t.Fatalf("reply = %+v", r)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestBotShutdownCutsAfterGraceAndSaysSo(t *testing.T) {
	started := make(chan struct{})
	h := HandlerFunc(func(ctx context.Context, w Responder, m Message) {
		close(started)
		<-ctx.Done() // a job that would run for an hour
	})
	a, cancel, done := startBot(t, h, Options{ShutdownGrace: 50 * time.Millisecond})
	a.in <- msg("1", "long job")
	<-started
	cancel()
	if r := a.next(t); r.Status != StatusError || !strings.Contains(r.Title, "shut down") {
		t.Fatalf("reply = %+v", r)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the grace period")
	}
}

// TestBotShutdownAfterAnAnswerSaysNothingMore: a command that answered
// and was then cut at shutdown (in work after its answer) gets no
// "shut down while working" note contradicting its answer.
func TestBotShutdownAfterAnAnswerSaysNothingMore(t *testing.T) {
	answered := make(chan struct{})
	h := HandlerFunc(func(ctx context.Context, w Responder, m Message) {
		_, _ = w.Reply(ctx, Reply{Status: StatusSuccess, Title: "done"})
		close(answered)
		<-ctx.Done() // cleanup that outlives the grace period
	})
	a, cancel, done := startBot(t, h, Options{ShutdownGrace: 50 * time.Millisecond})
	a.in <- msg("1", "quick job")
	if r := a.next(t); r.Title != "done" {
		t.Fatalf("reply = %+v", r)
	}
	<-answered
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the grace period")
	}
	select {
	case r := <-a.sent:
		t.Fatalf("after its answer the command was also told %q", r.Title)
	default:
	}
}

func TestBotDrainsWhenAdaptersEnd(t *testing.T) {
	var finished sync.WaitGroup
	finished.Add(3)
	h := HandlerFunc(func(ctx context.Context, w Responder, m Message) {
		defer finished.Done()
		time.Sleep(20 * time.Millisecond)
		_, _ = w.Reply(ctx, Reply{Title: m.Text})
	})
	a := newChanAdapter()
	b := New(h, Options{Workers: 1, Logger: quiet()}, a)
	done := make(chan error, 1)
	go func() { done <- b.Run(context.Background()) }()
	for i := range 3 {
		a.in <- msg(fmt.Sprint(i), fmt.Sprint(i))
	}
	close(a.in) // end of input
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after draining")
	}
	if len(a.sent) != 3 {
		t.Fatalf("only %d of 3 queued commands were answered before Run returned", len(a.sent))
	}
}

func TestTailCut(t *testing.T) {
	tests := []struct {
		in       string
		max      int
		want     string
		wantDrop int
	}{
		{"short", 10, "short", 0},
		{"l1\nl2\nl3\nl4", 6, "l3\nl4", 2},
		{"abcdefghij", 4, "ghij", 0},
		{"ééééé", 2, "éé", 0},
	}
	for _, tt := range tests {
		got, drop := TailCut(tt.in, tt.max)
		if got != tt.want || drop != tt.wantDrop {
			t.Errorf("TailCut(%q, %d) = %q, %d; want %q, %d", tt.in, tt.max, got, drop, tt.want, tt.wantDrop)
		}
	}
}

// editAdapter can edit, but every edit fails for good.
type editAdapter struct{ *chanAdapter }

func (editAdapter) Edit(context.Context, Sent, Reply) (Sent, error) {
	return Sent{}, Permanent(errors.New("message_not_found"))
}

func TestUpdateFallsBackToANewReplyWhenEditFails(t *testing.T) {
	a := editAdapter{newChanAdapter()}
	w := &responder{adapter: a, retryFor: time.Second, log: quiet()}
	sent, err := w.Reply(context.Background(), Reply{Title: "working"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Update(context.Background(), sent, Reply{Title: "result"}); err != nil {
		t.Fatal(err)
	}
	if a.next(t).Title != "working" || a.next(t).Title != "result" {
		t.Fatal("the update was not posted")
	}
}

// userMsg is msg from a given user.
func userMsg(id, user, text string) Message {
	m := msg(id, text)
	m.Sender.ID = user
	return m
}

// One user's flood cannot starve another: the flooder gets "slow down"
// answers (coalesced, none dropped), the other user's command runs.
func TestBotPerUserFairness(t *testing.T) {
	release := make(chan struct{})
	h := HandlerFunc(func(ctx context.Context, w Responder, m Message) {
		if m.Sender.ID == "flooder" {
			<-release
			return
		}
		_, _ = w.Reply(ctx, Reply{Title: "pong for " + m.Sender.ID})
	})
	a, _, _ := startBot(t, h, Options{Workers: 8, Queue: 16, PerUserConcurrent: 4, PerUserBurst: 1000})
	defer close(release)
	for i := range 400 {
		a.in <- userMsg(fmt.Sprint("f", i), "flooder", "run slow")
	}
	a.in <- userMsg("other", "other", "ping")
	refused, pong := 0, false
	for !pong || refused < 396 {
		r := a.next(t)
		switch {
		case r.Title == "pong for other":
			pong = true
		case r.Title == "Slow down":
			n := 1 // a coalesced notice says how many it answers
			if _, extra, ok := strings.Cut(r.Text, "(This answers "); ok {
				if _, err := fmt.Sscanf(extra, "%d", &n); err != nil {
					t.Fatalf("notice %q", r.Text)
				}
			}
			refused += n
		default:
			t.Fatalf("unexpected reply %+v", r)
		}
	}
	if refused != 396 {
		t.Fatalf("%d flooded commands were told, want 396 (4 run)", refused)
	}
}

// A user's burst beyond the rate limit is told to slow down.
func TestBotPerUserRateLimit(t *testing.T) {
	a, _, _ := startBot(t, echo(), Options{PerUserBurst: 3, PerUserPerMinute: 1})
	for i := range 5 {
		a.in <- msg(fmt.Sprint(i), fmt.Sprint("cmd", i))
	}
	titles := map[string]int{}
	for range 4 { // three echoes and at least one (coalesced) notice
		titles[a.next(t).Title]++
	}
	if titles["Slow down"] == 0 {
		t.Fatalf("replies %v: the burst was not limited", titles)
	}
}

// consoleAdapter is a chanAdapter that is the operator's console.
type consoleAdapter struct{ *chanAdapter }

func (consoleAdapter) Console() bool { return true }

// The terminal is the operator's console: a piped script of many commands
// is not a flood, so per-user limits do not apply there.
func TestBotConsoleIsNotRateLimited(t *testing.T) {
	a := consoleAdapter{newChanAdapter()}
	b := New(echo(), Options{Logger: quiet(), PerUserConcurrent: 1, PerUserBurst: 1}, a)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for i := range 20 {
		a.in <- msg(fmt.Sprint(i), fmt.Sprint("cmd", i))
	}
	for range 20 {
		if r := a.next(t); r.Title == "Slow down" {
			t.Fatalf("the console was told to slow down")
		}
	}
}
