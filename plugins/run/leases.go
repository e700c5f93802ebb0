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
	// gen is the watcher's gen when the query started, and start the
	// time: the leases it renewed last from then on.
	gen   uint64
	start time.Time
}

// leaseMargin is the part of a lease this process does not count on:
// for the database's clock running a little ahead of its own, and for
// the time an answer takes to post once it was checked.
func leaseMargin(lease time.Duration) time.Duration { return lease / 4 }

// holds reports whether the leases of this process's last successful
// renewal still hold, by its own clock less leaseMargin. When renewals
// keep failing (the database unreachable from here), another process may
// take the runs over once the leases lapse and answer them: this one must
// stop acting on them by then.
func (w *watcher) holds() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return time.Now().Before(w.heldUntil)
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
		if w.holds() {
			w.log.Error("could not renew or acquire runs in the store; will retry", "err", r.err)
		} else {
			w.log.Error("could not renew this process's leases, which have lapsed by its clock; not acting on its runs until a renewal succeeds", "err", r.err)
		}
		return
	}
	w.mu.Lock()
	w.heldUntil = r.start.Add(w.p.opts.Lease - leaseMargin(w.p.opts.Lease))
	w.mu.Unlock()
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
