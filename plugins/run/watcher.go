package run

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/store"
)

// tracked is an open run the watcher follows. Only the watcher's loop
// reads or writes its fields, except run, which a task owns while busy.
type tracked struct {
	run  *store.Run
	busy bool
	// What the last poll said of the run's pipeline.
	pipelineStatus  string
	pipelineUpdated time.Time
	// hint is a progress status learnt from the pipeline list, shown
	// without asking for the job.
	hint string
	// lost says another process took the run over while a task held it.
	lost bool
	// notes wait to be added to the run (by the loop, when no task
	// holds it): who canceled it.
	notes []string
	// due asks for the job's state at the next chance (a webhook, a
	// pipeline that finished).
	due       bool
	lastCheck time.Time
}

// watcher follows every open run: one loop owns the set of runs, polls
// GitLab once per project per tick, and hands per-run work (a job read, a
// log, an edit) to a bounded set of tasks.
type watcher struct {
	p   *Plugin
	st  store.Store
	log *slog.Logger
	out bot.Messenger

	mu    sync.Mutex
	inbox []*store.Run // runs handed over by handlers
	count int          // open runs in the loop and the inbox, for drain
	wake  chan struct{}
	hooks chan hookMsg
	notes chan runNote

	runs       map[string]*tracked
	byPipeline map[int64]*tracked
	since      map[int64]time.Time // per project: GitLab's clock at the last poll
	polling    map[int64]bool
	finished   map[string]finish // by run id, guarded by mu: see jobFinished
	// early holds hooks for pipelines no followed run has yet: a quick
	// job's hooks can all arrive before its handler hands the run over.
	early map[int64]earlyHooks
}

// maxEarly bounds the hooks kept for pipelines not followed (yet); most
// are for pipelines chatops did not start.
const maxEarly = 4096

// earlyHooks is what the hooks for a pipeline not followed (yet) said.
type earlyHooks struct {
	at time.Time
	// status is the newest in-progress status; done is set when any hook
	// said something else (finished, manual), which needs the job read.
	status string
	done   bool
}

// earlyHook remembers a hook for a pipeline no run follows yet.
func (w *watcher) earlyHook(ev gitlab.HookEvent, now time.Time) {
	if len(w.early) >= maxEarly {
		for id, e := range w.early {
			if now.Sub(e.at) > time.Minute {
				delete(w.early, id)
			}
		}
		if len(w.early) >= maxEarly {
			clear(w.early)
		}
	}
	e := w.early[ev.PipelineID]
	e.at = now
	if inProgress(ev.Status) {
		e.status = ev.Status
	} else {
		e.done = true
	}
	w.early[ev.PipelineID] = e
}

// takeEarly applies to t the hooks for its pipeline that came before it
// was followed.
func (w *watcher) takeEarly(t *tracked) {
	id := t.run.PipelineID
	e, ok := w.early[id]
	if id == 0 || !ok {
		return
	}
	delete(w.early, id)
	if e.done {
		t.due = true
		return
	}
	w.learnt(t, e.status)
}

// taskDone returns a run from a task: run is the task's copy, now the
// current one, or nil when the run was lost.
type taskDone struct {
	t   *tracked
	run *store.Run
}

func clone(r *store.Run) *store.Run {
	c := *r
	c.Notes = append([]string(nil), r.Notes...)
	c.Answer = append([]byte(nil), r.Answer...)
	return &c
}

type pollResult struct {
	project int64
	changes []gitlab.PipelineChange
	now     time.Time
	err     error
}

func newWatcher(p *Plugin) *watcher {
	return &watcher{p: p, st: p.opts.Store, log: p.opts.Logger, notes: make(chan runNote, 256),
		wake: make(chan struct{}, 1), hooks: make(chan hookMsg, 4096),
		runs: map[string]*tracked{}, byPipeline: map[int64]*tracked{}, since: map[int64]time.Time{}, polling: map[int64]bool{}, early: map[int64]earlyHooks{},
		finished: map[string]finish{}}
}

// interval is the poll period: slow when webhooks wake the watcher.
func (w *watcher) interval() time.Duration {
	if w.p.opts.Webhooks {
		return w.p.opts.HookPollInterval
	}
	return w.p.opts.PollInterval
}

// resync is how often a run's job is read even when the pipeline list
// says nothing changed: a guard against a missed update.
func (w *watcher) resync() time.Duration { return max(time.Minute, 10*w.interval()) }

// handOver takes a run over from the handler that started it: it saves
// the run and hands it to the loop, which owns it from then on.
func (w *watcher) handOver(ctx context.Context, run *store.Run) {
	if serr := w.st.SaveRun(context.WithoutCancel(ctx), run); serr != nil {
		w.log.Error("could not record the run's pipeline", "run", run.ID, "err", serr)
	}
	w.mu.Lock()
	w.inbox = append(w.inbox, run)
	w.count++
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// apply records the outcome of creating (or finding) a run's pipeline.
func (w *watcher) apply(run *store.Run, st gitlab.State, err error) {
	setState(run, st)
	var ref *bot.Refusal
	switch {
	case err == nil:
		run.Phase = store.PhaseFollowing
		w.audit(run)
	case errors.As(err, &ref):
		setAnswer(run, gitlab.Refused(outcome(run), ref))
	default:
		setAnswer(run, gitlab.Refused(outcome(run), &bot.Refusal{Title: run.Job + " could not be started",
			Text: "GitLab: " + gitlab.Describe(err) + ".\nThe bot is still running; try again, and tell its operators if it keeps happening.", Err: err}))
	}
}

// runNote is a remark for a run's replies from outside the watcher.
type runNote struct{ run, text string }

// note adds a remark to a run's replies (who canceled it) and has the
// run's job read at once. It never blocks.
func (w *watcher) note(runID, text string) {
	select {
	case w.notes <- runNote{runID, text}:
	default:
	}
}

// hookMsg is a webhook event, relayed when it came through the store
// from another process (and so is not relayed again).
type hookMsg struct {
	ev      gitlab.HookEvent
	relayed bool
}

func (w *watcher) hook(ev gitlab.HookEvent) {
	select {
	case w.hooks <- hookMsg{ev: ev}:
	default: // the backup poll will see it
	}
}

// drain waits until every run this process follows is answered.
func (w *watcher) drain(ctx context.Context) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		w.mu.Lock()
		n := w.count
		w.mu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-ctx.Done():
			w.log.Warn("stopped waiting for open runs", "open", n)
			return
		case <-t.C:
		}
	}
}

func (w *watcher) serve(ctx context.Context, out bot.Messenger) error {
	w.out = out
	var tasks sync.WaitGroup
	defer tasks.Wait()
	defer w.release()
	tasks.Go(func() { w.listen(ctx) })
	done := make(chan taskDone)
	polled := make(chan pollResult)
	acquired := make(chan acquireResult)
	acquiring := false
	slots := w.p.opts.Concurrency
	timer := time.NewTimer(0)
	defer timer.Stop()
	leases := time.NewTimer(0)
	defer leases.Stop()
	wakeFor := time.NewTimer(time.Hour)
	defer wakeFor.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.wake:
			w.takeInbox()
		case <-wakeFor.C:
		case <-leases.C:
			// Acquire and renew this process's runs: those a dead process
			// left are taken over once their leases lapse.
			if !acquiring {
				acquiring = true
				tasks.Go(func() {
					runs, err := w.st.AcquireRuns(ctx, w.p.opts.Owner, w.p.opts.Lease, maxFollowed)
					select {
					case acquired <- acquireResult{runs, err}:
					case <-ctx.Done():
					}
				})
			}
			leases.Reset(w.p.opts.Lease / 3)
		case r := <-acquired:
			acquiring = false
			w.acquired(r)
		case m := <-w.hooks:
			ev := m.ev
			if t := w.byPipeline[ev.PipelineID]; t != nil {
				w.hooked(t, ev)
			} else if ev.PipelineID != 0 {
				w.earlyHook(ev, time.Now())
				if !m.relayed {
					// Another process sharing the store may follow it.
					w.relay(ctx, &tasks, ev)
				}
			}
		case n := <-w.notes:
			if t := w.runs[n.run]; t != nil {
				t.notes = append(t.notes, n.text)
				t.due = true
			}
		case d := <-done:
			t := d.t
			t.busy = false
			slots++
			if d.run == nil || t.lost { // not ours any more
				w.untrack(t)
				break
			}
			t.run = d.run
			if !t.run.Open() {
				w.untrack(t)
			}
		case r := <-polled:
			delete(w.polling, r.project)
			w.polledProject(r)
		case <-timer.C:
			w.poll(ctx, &tasks, polled)
			timer.Reset(jitter(w.interval()))
		}
		now := time.Now()
		for _, t := range w.runs {
			if slots == 0 {
				break
			}
			if t.busy || !w.isDue(t, now) {
				continue
			}
			t.busy, t.due = true, false
			slots--
			hint := t.hint
			t.hint = ""
			if t.run.Phase == store.PhaseFollowing && hint == "" {
				t.lastCheck = now
			}
			if len(t.notes) > 0 && t.run.Open() {
				t.run.Notes = append(t.run.Notes, t.notes...)
				t.notes = nil
			}
			run := clone(t.run)
			tasks.Go(func() {
				res := taskDone{t: t, run: w.work(ctx, run, hint)}
				select {
				case done <- res:
				case <-ctx.Done():
				}
			})
		}
		// A deadline or a delivery retry falls between ticks (every 30s
		// with webhooks): wake for it, not for the next tick.
		wakeFor.Reset(w.nextDue(now))
	}
}

// nextDue is how long until the soonest deadline or retry of a run not
// being worked on (an hour when there is none).
func (w *watcher) nextDue(now time.Time) time.Duration {
	next := now.Add(time.Hour)
	for _, t := range w.runs {
		if t.busy {
			continue
		}
		at := t.run.NextAttempt
		if t.run.Phase == store.PhaseFollowing {
			at = t.run.Deadline.Add(time.Millisecond)
		}
		if at.After(now) && at.Before(next) {
			next = at
		}
	}
	return next.Sub(now)
}

// maxFollowed bounds the runs one process follows (and renews each
// lease tick).
const maxFollowed = 10000

type acquireResult struct {
	runs []*store.Run
	err  error
}

// takeInbox tracks the runs handlers handed over.
func (w *watcher) takeInbox() {
	w.mu.Lock()
	in := w.inbox
	w.inbox = nil
	w.mu.Unlock()
	for _, r := range in {
		if _, ok := w.runs[r.ID]; ok {
			// Already taken up by a lease renewal: counted once.
			w.mu.Lock()
			w.count--
			w.mu.Unlock()
			continue
		}
		w.track(r, time.Now())
	}
}

// acquired takes up the runs this process now holds leases on, and drops
// those it no longer holds (its lease lapsed and another process took
// the run: that one answers it).
func (w *watcher) acquired(r acquireResult) {
	if r.err != nil {
		w.log.Error("could not acquire runs from the store; will retry", "err", r.err)
		return
	}
	w.takeInbox()
	held := make(map[string]bool, len(r.runs))
	resumed := 0
	for _, run := range r.runs {
		held[run.ID] = true
		if _, ok := w.runs[run.ID]; ok || w.p.held(run.ID) {
			continue
		}
		w.mu.Lock()
		w.count++
		w.mu.Unlock()
		w.track(run, time.Time{})
		resumed++
	}
	if resumed > 0 {
		w.log.Info("resuming open runs", "runs", resumed, "owner", w.p.opts.Owner)
	}
	for id, t := range w.runs {
		if held[id] || !t.run.Open() {
			continue
		}
		w.log.Warn("another process took over a run whose lease lapsed", "run", id)
		if t.busy {
			t.lost = true // untracked when its task ends
		} else {
			w.untrack(t)
		}
	}
}

// release gives this process's leases up at shutdown, so another process
// sharing the store takes its runs over at once.
func (w *watcher) release() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.st.ReleaseRuns(ctx, w.p.opts.Owner); err != nil {
		w.log.Warn("could not release this process's runs; others take them when the leases lapse", "err", err)
	}
}

// hookPrefix marks a webhook relayed through the store: the payload is
// "hook:<pipeline id>:<status>" (the status may be missing, as processes
// before it was added sent it; the job is read then).
const hookPrefix = "hook:"

// relay passes a webhook for a pipeline this process does not follow to
// the others sharing the store: the one holding the run answers. The
// status goes with it, so a hook saying only "running" costs no job read
// there either (nor here: this process hears its own relays too).
func (w *watcher) relay(ctx context.Context, tasks *sync.WaitGroup, ev gitlab.HookEvent) {
	payload := hookPrefix + strconv.FormatInt(ev.PipelineID, 10) + ":" + ev.Status
	tasks.Go(func() {
		nctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := w.st.Notify(nctx, payload); err != nil {
			w.log.Debug("could not relay a webhook", "err", err)
		}
	})
}

// listen wakes this process for webhooks other processes relayed.
func (w *watcher) listen(ctx context.Context) {
	err := w.st.Listen(ctx, func(payload string) {
		rest, ok := strings.CutPrefix(payload, hookPrefix)
		if !ok {
			return
		}
		id, status, _ := strings.Cut(rest, ":")
		if pid, err := strconv.ParseInt(id, 10, 64); err == nil {
			select {
			case w.hooks <- hookMsg{ev: gitlab.HookEvent{PipelineID: pid, Status: status}, relayed: true}:
			default:
			}
		}
	})
	if err != nil && ctx.Err() == nil {
		w.log.Warn("not listening for webhooks relayed by other processes", "err", err)
	}
}

func (w *watcher) track(r *store.Run, checked time.Time) {
	t := &tracked{run: r, lastCheck: checked}
	w.followed(r)
	w.runs[r.ID] = t
	if r.PipelineID != 0 {
		w.byPipeline[r.PipelineID] = t
		w.takeEarly(t)
	}
	if _, ok := w.since[r.ProjectID]; !ok && r.ProjectID != 0 {
		// Until GitLab's clock is known, start well before the run with
		// a margin for clock skew.
		w.since[r.ProjectID] = r.CreatedAt.Add(-5 * time.Minute)
	}
}

func (w *watcher) untrack(t *tracked) {
	delete(w.runs, t.run.ID)
	delete(w.byPipeline, t.run.PipelineID)
	w.left(t.run)
	w.mu.Lock()
	w.count--
	w.mu.Unlock()
}

// isDue reports whether a run needs work now.
func (w *watcher) isDue(t *tracked, now time.Time) bool {
	r := t.run
	switch r.Phase {
	case store.PhaseCreating:
		return !now.Before(r.NextAttempt)
	case store.PhaseAnswering:
		return !now.Before(r.NextAttempt)
	case store.PhaseFollowing:
		if r.PipelineID != 0 && w.byPipeline[r.PipelineID] != t {
			w.byPipeline[r.PipelineID] = t // learnt while creating
			w.takeEarly(t)
		}
		return t.due || t.hint != "" || now.After(r.Deadline) || now.Sub(t.lastCheck) >= w.resync()
	}
	return false
}

// poll lists each project's recently updated pipelines, one request per
// project, for the projects that have runs being followed.
func (w *watcher) poll(ctx context.Context, tasks *sync.WaitGroup, polled chan<- pollResult) {
	projects := map[int64]GitLab{}
	for _, t := range w.runs {
		if t.run.Phase == store.PhaseFollowing {
			if proj := w.p.projects.forRun(t.run); proj != nil {
				projects[t.run.ProjectID] = proj.GitLab
			}
		}
	}
	for pid, gl := range projects {
		if w.polling[pid] {
			continue
		}
		w.polling[pid] = true
		since := w.since[pid]
		tasks.Go(func() {
			changes, now, err := gl.UpdatedPipelines(ctx, pid, since)
			select {
			case polled <- pollResult{project: pid, changes: changes, now: now, err: err}:
			case <-ctx.Done():
			}
		})
	}
}

// polledProject marks the runs whose pipelines changed.
func (w *watcher) polledProject(r pollResult) {
	if r.err != nil {
		w.log.Warn("polling GitLab failed; will try again", "project", r.project, "err", r.err)
		return
	}
	// The next poll overlaps this one: updates are recognised by value,
	// so seeing one twice costs nothing, and none falls between polls.
	w.since[r.project] = r.now.Add(-2*w.interval() - 5*time.Second)
	for _, c := range r.changes {
		t := w.byPipeline[c.ID]
		if t == nil || (c.Status == t.pipelineStatus && c.UpdatedAt.Equal(t.pipelineUpdated)) {
			continue
		}
		t.pipelineStatus, t.pipelineUpdated = c.Status, c.UpdatedAt
		w.learnt(t, c.Status)
	}
}

// hooked takes a webhook for t's pipeline. A relayed hook carries no
// status (another process received it): read the job.
func (w *watcher) hooked(t *tracked, ev gitlab.HookEvent) {
	if ev.Status == "" {
		t.due = true
		return
	}
	w.learnt(t, ev.Status)
}

// learnt takes a status GitLab reported for t's pipeline or its job,
// from a poll or a webhook. While it is in progress it is only shown (the
// one-job pipeline's status is the job's), without reading the job; any
// other status (finished, manual, blocked) needs the job read.
func (w *watcher) learnt(t *tracked, status string) {
	switch {
	case !inProgress(status):
		t.due = true
	case status != t.run.Status:
		t.hint = status
	}
}

// inProgress reports whether a pipeline or job status is one the job
// only waits or runs in: nothing to read yet. "" (a relayed hook) is not.
func inProgress(status string) bool {
	switch status {
	case "created", "waiting_for_resource", "preparing", "pending", "running":
		return true
	}
	return false
}

func jitter(d time.Duration) time.Duration {
	// ±20% keeps replicas and restarts from polling in lockstep.
	return d + time.Duration(rand.Int64N(int64(d)/5+1)) - d/10
}
