package run

import (
	"context"
	"time"

	"github.com/chatops-dev/chatops/store"
)

// Leases: which open runs this process follows, taken up from handlers
// and from the store, and given up at shutdown.

// maxFollowed bounds the runs one process follows (and renews each
// lease tick).
const maxFollowed = 10000

type acquireResult struct {
	runs []*store.Run
	err  error
	// gen is the watcher's gen when the query started.
	gen uint64
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
// the run: that one answers it). Only a run taken up before the query
// started can be missing for that reason: one a handler recorded and
// handed over while the query was on its way is simply not in its answer.
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
		if held[id] || !t.run.Open() || t.gen >= r.gen {
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
