package run_test

// The durable-run machinery under crashes, store hiccups and lease
// races: each test pins one way a run's answer was lost or given twice.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/bottest"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/plugins/run"
	"github.com/chatops-dev/chatops/store"
	"github.com/chatops-dev/chatops/store/sqlite"
)

// A process died after GitLab created a run's pipeline and before it
// recorded it (the run is stored "creating"). When the next process
// resumes the run, GitLab is briefly unavailable (a 502 on the pipeline
// list, as when GitLab and the bot restart together). The lookup error is
// transient: resume asks again rather than answer "GitLab is having
// trouble", so the pipeline that exists is followed and its real answer
// posted.
func TestResumeRetriesALookupGitLabFailedTransiently(t *testing.T) {
	e := newEnv(t, func(c *config) { c.manual = true })
	ctx := context.Background()
	svc, err := gitlab.New(e.cfg.gitlab)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := svc.Prepare(ctx, gitlab.RunRequest{Job: "hello-world", Identity: "test:U-alice", ChannelID: "C1", UserID: "U-alice"})
	if err != nil {
		t.Fatal(err)
	}
	const id = "0123456789abcdef0123"
	// The dead process's create reached GitLab.
	if _, err := svc.Create(ctx, plan, id, time.Now()); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, e.cfg.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	run := &store.Run{ID: id, Kind: "run", Platform: "test", ChannelID: "C1", Requester: "test:U-alice", UserID: "U-alice",
		GitLabUser: plan.User, Project: e.gl.ProjectPath, ProjectID: plan.ProjectID, Ref: plan.Ref, Job: "hello-world",
		Phase: store.PhaseCreating, Deadline: time.Now().Add(10 * time.Second)}
	if err := st.CreateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	st.Close()
	// GitLab answers the pipeline list with 502s for a moment (every try
	// of the client's retries).
	e.gl.Fail("GET", "/projects/42/pipelines", 5, 502, "")
	e.start()
	r, _ := e.chat.Final(t, "C1")
	if n := len(e.gl.Pipelines()); n != 1 {
		t.Fatalf("%d pipelines", n)
	}
	if r.Status != bot.StatusSuccess {
		t.Fatalf("the run's pipeline exists and succeeds, but its answer is %v %q: %q", r.Status, r.Title, r.Text)
	}
}

// failSaves is a store whose next n SaveRun calls fail (a database hiccup).
type failSaves struct {
	store.Store
	mu sync.Mutex
	n  int
}

func (f *failSaves) SaveRun(ctx context.Context, r *store.Run) error {
	f.mu.Lock()
	fail := f.n > 0
	if fail {
		f.n--
	}
	f.mu.Unlock()
	if fail {
		return errors.New("database is locked (injected)")
	}
	return f.Store.SaveRun(ctx, r)
}

// answeredOnce checks that C1 holds one message, the run's progress
// reply edited into a success, after the lease renewals had time to take
// up a run left behind, and that one pipeline was created.
func answeredOnce(t *testing.T, e *env, thread string) {
	t.Helper()
	r, _ := e.chat.FinalIn(t, "C1", thread)
	time.Sleep(1500 * time.Millisecond) // five lease renewals
	var titles []string
	for _, m := range e.chat.Messages("C1") {
		titles = append(titles, m.Status.String()+": "+m.Title)
	}
	if r.Status != bot.StatusSuccess || len(titles) != 1 {
		t.Fatalf("want one answer, a success: the first was %v %q: %q; messages in C1: %q", r.Status, r.Title, r.Text, titles)
	}
	if n := len(e.gl.Pipelines()); n != 1 {
		t.Fatalf("%d pipelines", n)
	}
}

// record() stores the run, posts its progress reply, then fails to save
// the reply's id. The run is stored, owned by this process: the handler
// does not answer "run failed" (the watcher would resume the run after it
// and answer again); the reply's id is saved with the pipeline and the
// run answered once, in its progress reply.
func TestAFailedSaveOfTheReplyIDStillAnswersOnce(t *testing.T) {
	e := newEnv(t, func(c *config) { c.manual = true })
	st, err := sqlite.Open(context.Background(), e.cfg.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	fs := &failSaves{Store: st, n: 1}
	e.startOn(fs, run.Options{PollInterval: 20 * time.Millisecond, ReplyTimeout: 10 * time.Second, Lease: 300 * time.Millisecond})
	answeredOnce(t, e, e.chat.Ask("U-alice", "C1", "run hello-world"))
}

// lateCreateError is a store whose next CreateRun stores the run and then
// fails, as when the connection drops after the commit.
type lateCreateError struct {
	store.Store
	failed atomic.Bool
}

func (l *lateCreateError) CreateRun(ctx context.Context, r *store.Run) error {
	if err := l.Store.CreateRun(ctx, r); err != nil || l.failed.Swap(true) {
		return err
	}
	return errors.New("connection reset by peer (injected, after the commit)")
}

// A CreateRun that fails after its commit leaves a stored run that the
// watcher would resume: the handler reads the run back and goes on,
// rather than answer "run failed" and have the job run and answer anyway.
func TestACreateRunFailingAfterItsCommitStillAnswersOnce(t *testing.T) {
	e := newEnv(t, func(c *config) { c.manual = true })
	st, err := sqlite.Open(context.Background(), e.cfg.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	e.startOn(&lateCreateError{Store: st}, run.Options{PollInterval: 20 * time.Millisecond, ReplyTimeout: 10 * time.Second, Lease: 300 * time.Millisecond})
	answeredOnce(t, e, e.chat.Ask("U-alice", "C1", "run hello-world"))
}

// slowAcquire is a store whose second AcquireRuns returns only when the
// test lets it, after its query ran (a slow database round trip).
type slowAcquire struct {
	store.Store
	mu      sync.Mutex
	calls   int
	queried chan struct{}
	release chan struct{}
}

func (s *slowAcquire) AcquireRuns(ctx context.Context, owner string, lease time.Duration, limit int) ([]*store.Run, error) {
	runs, err := s.Store.AcquireRuns(ctx, owner, lease, limit)
	s.mu.Lock()
	s.calls++
	n := s.calls
	s.mu.Unlock()
	if n == 2 {
		close(s.queried)
		select {
		case <-s.release:
		case <-ctx.Done():
		}
	}
	return runs, err
}

// countLeft counts the Observer's RunLeft calls.
type countLeft struct {
	mu               sync.Mutex
	followed, left   int
	answeredOutcomes []string
}

func (c *countLeft) RunFollowed(string) { c.mu.Lock(); c.followed++; c.mu.Unlock() }
func (c *countLeft) RunLeft(string)     { c.mu.Lock(); c.left++; c.mu.Unlock() }
func (c *countLeft) RunAnswered(_, outcome string, _, _ time.Duration) {
	c.mu.Lock()
	c.answeredOutcomes = append(c.answeredOutcomes, outcome)
	c.mu.Unlock()
}

// A lease renewal whose query ran before a handler recorded a new run,
// but whose answer the watcher takes after the handler handed the run
// over, does not list the run. That is no sign another process took it
// over: the run stays followed (no RunLeft, Following() stays 1) rather
// than go unfollowed until the next renewal (with Drain free to return
// and a cancel's note dropped meanwhile).
func TestARenewalRacingAHandOverKeepsTheNewRun(t *testing.T) {
	e := newEnv(t, func(c *config) { c.manual = true; c.gitlab.PlayManual = false })
	st, err := sqlite.Open(context.Background(), e.cfg.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	sa := &slowAcquire{Store: st, queried: make(chan struct{}), release: make(chan struct{})}
	obs := &countLeft{}
	e.startOn(sa, run.Options{PollInterval: 20 * time.Millisecond, ReplyTimeout: 10 * time.Second,
		Lease: 600 * time.Millisecond, Observer: obs})
	<-sa.queried // the renewal's query ran; its answer is on its way
	e.chat.Ask("U-alice", "C1", "run deploy")
	deadline := time.Now().Add(5 * time.Second)
	for e.plugin.Following() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the run was never handed over")
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(sa.release)
	time.Sleep(50 * time.Millisecond)
	obs.mu.Lock()
	left := obs.left
	obs.mu.Unlock()
	if n := e.plugin.Following(); n != 1 || left != 0 {
		t.Fatalf("the run this process just started, still open, was dropped as taken over: Following() = %d, RunLeft calls = %d", n, left)
	}
}

// messenger records what the watcher posts; its first fail posts fail
// (a platform having a bad moment).
type messenger struct {
	mu   sync.Mutex
	fail int
	sent []bot.Reply
}

func (m *messenger) posted() int { m.mu.Lock(); defer m.mu.Unlock(); return len(m.sent) }

func (m *messenger) Send(_ context.Context, _ string, to bot.Conversation, r bot.Reply) (bot.Sent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail > 0 {
		m.fail--
		return bot.Sent{}, errors.New("the platform is unavailable (injected)")
	}
	m.sent = append(m.sent, r)
	return bot.Sent{Conversation: to, ID: fmt.Sprint(len(m.sent))}, nil
}

func (m *messenger) Edit(ctx context.Context, platform string, ref bot.Sent, r bot.Reply) (bot.Sent, error) {
	return m.Send(ctx, platform, ref.Conversation, r)
}

// heldSave is a store whose SaveRun of an answered run waits until the
// test lets it go, and that logs the order of saves and releases.
type heldSave struct {
	store.Store
	saving, proceed chan struct{}
	mu              sync.Mutex
	events          []string
}

func (h *heldSave) log(ev string) { h.mu.Lock(); h.events = append(h.events, ev); h.mu.Unlock() }

func (h *heldSave) SaveRun(ctx context.Context, r *store.Run) error {
	if r.Phase == store.PhaseDone {
		close(h.saving)
		<-h.proceed
		defer h.log("saved")
	}
	return h.Store.SaveRun(ctx, r)
}

func (h *heldSave) ReleaseRuns(ctx context.Context, owner string) error {
	h.log("released")
	return h.Store.ReleaseRuns(ctx, owner)
}

// A watcher stopping while a task still saves a run's answer gives its
// leases up only after the save: released first, another process would
// take the run over and answer it again.
func TestStoppingReleasesTheLeasesAfterTheTasksInFlight(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "chatops.db"))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := json.Marshal(bot.Reply{Status: bot.StatusSuccess, Title: "done"})
	if err := st.CreateRun(ctx, &store.Run{ID: "r1", Kind: "run", Platform: "test", ChannelID: "C1", Job: "hello-world",
		Phase: store.PhaseAnswering, Answer: answer, Deadline: time.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	hs := &heldSave{Store: st, saving: make(chan struct{}), proceed: make(chan struct{})}
	p, err := run.New(run.Options{Store: hs, Logger: bottest.Quiet(), PollInterval: 20 * time.Millisecond, Lease: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error)
	go func() { served <- p.Serve(ctx, &messenger{}) }()
	<-hs.saving // the answer was delivered; its save is in flight
	cancel()
	time.Sleep(100 * time.Millisecond)
	close(hs.proceed)
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if want := []string{"saved", "released"}; !slices.Equal(hs.events, want) {
		t.Fatalf("events %q, want %q", hs.events, want)
	}
}

// answeringRun stores run r1, its answer known and owed, in a new SQLite
// store.
func answeringRun(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "chatops.db"))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := json.Marshal(bot.Reply{Status: bot.StatusSuccess, Title: "done"})
	if err := st.CreateRun(context.Background(), &store.Run{ID: "r1", Kind: "run", Platform: "test", ChannelID: "C1", Job: "hello-world",
		Phase: store.PhaseAnswering, Answer: answer, Deadline: time.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	return st
}

// serveOwed serves the watcher of a plugin over st, owner "a", whose
// first post of r1's answer fails (the next try is a second later), and
// returns its messenger.
func serveOwed(t *testing.T, st store.Store) *messenger {
	t.Helper()
	p, err := run.New(run.Options{Store: st, Owner: "a", Logger: bottest.Quiet(), PollInterval: 20 * time.Millisecond, Lease: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	t.Cleanup(func() { cancel(); <-served })
	m := &messenger{fail: 1}
	go func() { _ = p.Serve(ctx, m); close(served) }()
	return m
}

// failedRenewals is a store whose AcquireRuns, after the first, fail (the
// database unreachable from this process, not from the others).
type failedRenewals struct {
	store.Store
	calls atomic.Int32
}

func (f *failedRenewals) AcquireRuns(ctx context.Context, owner string, lease time.Duration, limit int) ([]*store.Run, error) {
	if f.calls.Add(1) > 1 {
		return nil, errors.New("connection refused (injected)")
	}
	return f.Store.AcquireRuns(ctx, owner, lease, limit)
}

// A process whose lease renewals keep failing stops acting on its runs
// once their leases lapse by its clock: another process takes them over
// then, and answers them.
func TestRenewalsFailingStopTheRunsWhenTheirLeasesLapse(t *testing.T) {
	st := answeringRun(t)
	m := serveOwed(t, &failedRenewals{Store: st})
	time.Sleep(1500 * time.Millisecond) // past the second try of the answer
	if n := m.posted(); n != 0 {
		t.Fatalf("the answer was posted %d time(s) after this process's lease lapsed (renewals failing)", n)
	}
	if runs, err := st.AcquireRuns(context.Background(), "b", time.Minute, 10); err != nil || len(runs) != 1 {
		t.Fatalf("another process acquires %d runs, %v: want r1", len(runs), err)
	}
}

// frozenRenewals is a store whose AcquireRuns, after the first, report
// success and renew nothing (a process paused past its lease, or
// whose clock runs slow, believes it renewed).
type frozenRenewals struct {
	store.Store
	mu   sync.Mutex
	last []*store.Run
}

func (f *frozenRenewals) AcquireRuns(ctx context.Context, owner string, lease time.Duration, limit int) ([]*store.Run, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.last != nil {
		return f.last, nil
	}
	runs, err := f.Store.AcquireRuns(ctx, owner, lease, limit)
	f.last = runs
	return runs, err
}

// A save that reports another process's lease on the run (it took the
// run over, and has not saved it yet) ends this process's work on it:
// the other one answers.
func TestASaveNamingAnotherOwnerEndsTheWork(t *testing.T) {
	st := answeringRun(t)
	m := serveOwed(t, &frozenRenewals{Store: st})
	time.Sleep(400 * time.Millisecond) // a's lease lapses
	if runs, err := st.AcquireRuns(context.Background(), "b", time.Minute, 10); err != nil || len(runs) != 1 {
		t.Fatalf("b acquires %d runs, %v: want r1", len(runs), err)
	}
	time.Sleep(1100 * time.Millisecond) // past a's second try of the answer
	if n := m.posted(); n != 0 {
		t.Fatalf("a posted the answer %d time(s) after b took the run over", n)
	}
	if r, err := st.GetRun(context.Background(), "r1"); err != nil || r.Phase != store.PhaseAnswering || r.Owner != "b" {
		t.Fatalf("r1 = %+v, %v: want it answering, b's", r, err)
	}
}

// cancel finds a run by its id however many runs came after it, not only
// among the newest store.MaxLimit.
func TestCancelFindsAnOldRunByItsID(t *testing.T) {
	e := newEnv(t, func(c *config) { c.manual = true })
	ctx := context.Background()
	st, err := sqlite.Open(ctx, e.cfg.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	old := &store.Run{ID: "0123456789abcdef0123", Kind: "run", Platform: "test", ChannelID: "C2", Requester: "test:U-alice",
		Project: e.gl.ProjectPath, Job: "hello-world", Phase: store.PhaseCreating, Deadline: time.Now().Add(time.Hour),
		Owner: "elsewhere", LeaseUntil: time.Now().Add(time.Hour)}
	if err := st.CreateRun(ctx, old); err != nil {
		t.Fatal(err)
	}
	for i := range store.MaxLimit {
		if err := st.CreateRun(ctx, &store.Run{ID: fmt.Sprintf("f%019d", i), Kind: "run", Phase: store.PhaseDone}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	e.start()
	r, _ := e.say("U-alice", "C1", "cancel 0123")
	if want := "Run 012345 has no pipeline yet"; r.Title != want {
		t.Fatalf("cancel of an old open run: %q: %q, want %q", r.Title, r.Text, want)
	}
}
