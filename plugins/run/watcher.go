package run

import (
	"context"
	"errors"
	"log/slog"
	"slices"
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
	// due asks for the job's state at the next chance (a webhook, a
	// pipeline that finished).
	due       bool
	lastCheck time.Time
	// gen is the watcher's gen when the run was taken up: a lease
	// renewal whose query started before that cannot know of the run.
	gen uint64
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
	// noted are remarks for runs' replies from outside the watcher (who
	// canceled a run), by run id, guarded by mu: added before the event
	// they describe (a cancel is noted before GitLab is asked), and taken
	// by whatever next works on the run, a task answering it included, so
	// an answer never goes out without a note given before it.
	noted map[string][]string
	// gen counts the lease renewals started (loop only; see acquired).
	gen uint64
	// heldUntil is when, by this process's clock and with a margin, the
	// leases of its last successful renewal lapse (guarded by mu): past
	// it another process may have taken its runs over, so it stops acting
	// on them until a renewal succeeds again. See holds.
	heldUntil time.Time
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

func newWatcher(p *Plugin) *watcher {
	return &watcher{p: p, st: p.opts.Store, log: p.opts.Logger, notes: make(chan runNote, 256), noted: map[string][]string{},
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

// addNote keeps text for the replies of the run runID and returns what
// takes it back (the event it describes did not happen after all).
func (w *watcher) addNote(runID, text string) (undo func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.noted) >= maxNoted {
		return func() {} // a flood of notes for runs nobody answers
	}
	w.noted[runID] = append(w.noted[runID], text)
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		notes := w.noted[runID]
		if i := slices.Index(notes, text); i >= 0 {
			notes = slices.Delete(notes, i, i+1)
		}
		if len(notes) == 0 {
			delete(w.noted, runID)
		} else {
			w.noted[runID] = notes
		}
	}
}

// takeNotes returns and forgets the notes kept for the run runID.
func (w *watcher) takeNotes(runID string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	notes := w.noted[runID]
	delete(w.noted, runID)
	return notes
}

// maxNoted bounds the runs with notes kept.
const maxNoted = 10000

// runNote is a remark for a run's replies from outside the watcher;
// relayed when another process sharing the store passed it on.
type runNote struct {
	run, text string
	relayed   bool
}

// note adds a remark to a run's replies (who canceled it) and has the
// run's job read at once. It never blocks.
func (w *watcher) note(runID, text string) {
	select {
	case w.notes <- runNote{run: runID, text: text}:
	default:
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
	// Deferred calls run last first: the tasks in flight finish (a save,
	// a delivery) before the leases are given up, so no other process is
	// invited to take a run over while this one may still answer it.
	defer w.release()
	defer tasks.Wait()
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
				w.gen++
				gen := w.gen
				tasks.Go(func() {
					start := time.Now()
					runs, err := w.st.AcquireRuns(ctx, w.p.opts.Owner, w.p.opts.Lease, maxFollowed)
					select {
					case acquired <- acquireResult{runs, err, gen, start}:
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
			switch t := w.runs[n.run]; {
			case t != nil:
				if n.relayed {
					w.addNote(n.run, n.text)
				}
				t.due = true // shown in the progress reply too
			case !n.relayed:
				// Another process sharing the store may follow it.
				w.takeNotes(n.run)
				w.relayNote(ctx, &tasks, n)
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
			if slots == 0 || !w.holds() {
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
			if t.run.Open() {
				t.run.Notes = append(t.run.Notes, w.takeNotes(t.run.ID)...)
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

func (w *watcher) track(r *store.Run, checked time.Time) {
	t := &tracked{run: r, lastCheck: checked, gen: w.gen}
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
	w.takeNotes(t.run.ID)
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
