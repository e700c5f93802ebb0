package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/store"
)

// The lease contract: AcquireRuns and ReleaseRuns (Notify and Listen
// are in notify.go). Leases are short (shortLease) and waits poll against a
// deadline, so the suite stays fast on a loaded machine and still passes
// on a slow one.

const (
	// shortLease is long enough for a few calls on a loaded CI machine,
	// short enough that waiting for it to lapse costs little.
	shortLease = 200 * time.Millisecond
	// patience bounds every poll: far more than any healthy store needs.
	patience = 10 * time.Second
	// pollEvery is the pause between polls.
	pollEvery = 10 * time.Millisecond
)

func mustAcquire(t testing.TB, s store.Store, owner string, lease time.Duration, limit int) []*store.Run {
	t.Helper()
	runs, err := s.AcquireRuns(ctx(t), owner, lease, limit)
	if err != nil {
		t.Fatalf("AcquireRuns(%q, %v, %d): %v", owner, lease, limit, err)
	}
	return runs
}

// openRuns creates n open runs named prefix-00.. in that order, and as
// many done ones after each, which no AcquireRuns may return.
func openRuns(t testing.TB, s store.Store, prefix string, n int) []string {
	t.Helper()
	var open []string
	for i := range n {
		id := fmt.Sprintf("%s-%02d", prefix, i)
		mustCreate(t, s, &store.Run{ID: id, Phase: store.PhaseFollowing})
		mustCreate(t, s, &store.Run{ID: id + "-done", Phase: store.PhaseDone})
		open = append(open, id)
	}
	return open
}

// acquireRace calls AcquireRuns from n goroutines, alternating between the
// owners and, per owner, over the stores, released at once, and checks
// that every open run ends leased to exactly one owner: the one every
// result naming it came from. Half the calls ask for every run, so all
// get leased; the others ask for a few, so owners interleave.
func acquireRace(t *testing.T, n int, owners []string, stores ...store.Store) {
	t.Helper()
	open := openRuns(t, stores[0], "race", 60)
	var mu sync.Mutex
	gotBy := map[string]map[string]bool{} // run id -> owners whose results held it
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		owner := owners[i%len(owners)]
		s := stores[(i/len(owners))%len(stores)]
		limit := 100
		if i%4 >= 2 {
			limit = 1 + i%5
		}
		wg.Go(func() {
			<-start
			runs, err := s.AcquireRuns(ctx(t), owner, time.Hour, limit)
			if err != nil {
				t.Errorf("concurrent AcquireRuns(%q): %v", owner, err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, r := range runs {
				if r.Owner != owner {
					t.Errorf("AcquireRuns(%q) returned %s owned by %q", owner, r.ID, r.Owner)
				}
				if gotBy[r.ID] == nil {
					gotBy[r.ID] = map[string]bool{}
				}
				gotBy[r.ID][owner] = true
			}
		})
	}
	close(start)
	wg.Wait()
	per := map[string]int{}
	for _, id := range open {
		stored := mustGet(t, stores[0], id)
		switch {
		case len(gotBy[id]) != 1:
			t.Errorf("run %s was returned to owners %v, want exactly one", id, gotBy[id])
		case !gotBy[id][stored.Owner]:
			t.Errorf("run %s is stored as leased to %q, but was returned to %v", id, stored.Owner, gotBy[id])
		}
		per[stored.Owner]++
	}
	for id := range gotBy {
		if strings.HasSuffix(id, "-done") {
			t.Errorf("done run %s was acquired", id)
		}
	}
	t.Logf("%d concurrent AcquireRuns over %d handles: runs per owner %v", n, len(stores), per)
}

// Two owners race for the same runs: each run goes to exactly one of them.
func testAcquireRunsRace(t *testing.T, o Opener) {
	s := o.Open(t)
	acquireRace(t, 50, []string{"a", "b"}, s)
}

func testAcquireRunsRenewAndTakeover(t *testing.T, o Opener) {
	s := o.Open(t)
	open := openRuns(t, s, "run", 3)
	first := mustAcquire(t, s, "a", time.Hour, 10)
	if got := ids(first); !slices.Equal(got, open) {
		t.Fatalf("AcquireRuns(a) = %v, want %v", got, open)
	}
	if got := mustAcquire(t, s, "b", shortLease, 10); len(got) != 0 {
		t.Fatalf("AcquireRuns(b) while a's leases hold = %v, want none", ids(got))
	}

	// a renews: the same runs, later leases, and no new version: a lease is
	// not a change of the run.
	renewed := mustAcquire(t, s, "a", 2*time.Hour, 10)
	if got := ids(renewed); !slices.Equal(got, open) {
		t.Fatalf("renewing AcquireRuns(a) = %v, want %v", got, open)
	}
	for i, r := range renewed {
		if r.Owner != "a" || !r.LeaseUntil.After(first[i].LeaseUntil) {
			t.Errorf("%s renewed: owner %q, lease until %v; want a, after %v", r.ID, r.Owner, r.LeaseUntil, first[i].LeaseUntil)
		}
		if r.Version != 1 || !r.UpdatedAt.Equal(first[i].CreatedAt) {
			t.Errorf("%s renewed: version %d, updated %v; want 1 and its creation %v", r.ID, r.Version, r.UpdatedAt, first[i].CreatedAt)
		}
		equalRuns(t, mustGet(t, s, r.ID), r)
	}

	// a renews once more with a short lease (a renewal sets the lease,
	// it may shorten it), then stops renewing: once the leases lapse, b
	// takes the runs over.
	renewedAt := time.Now()
	if got := ids(mustAcquire(t, s, "a", shortLease, 10)); !slices.Equal(got, open) {
		t.Fatalf("short renewal by a = %v, want %v", got, open)
	}
	var took []*store.Run
	for deadline := time.Now().Add(patience); len(took) == 0; {
		if time.Now().After(deadline) {
			t.Fatalf("b got no run within %v of a's %v leases", patience, shortLease)
		}
		took = mustAcquire(t, s, "b", shortLease, 10)
		if len(took) == 0 {
			time.Sleep(pollEvery)
		}
	}
	// The renewal's lease began after renewedAt, by any clock running at
	// the same rate.
	if e := time.Since(renewedAt); e < shortLease {
		t.Errorf("b took runs over %v after a renewed its %v leases", e, shortLease)
	}
	if got := ids(took); !slices.Equal(got, open) {
		t.Fatalf("takeover by b = %v, want %v (all lapsed together)", got, open)
	}
	for _, r := range took {
		if r.Owner != "b" || r.Version != 1 {
			t.Errorf("%s after takeover: owner %q version %d, want b, 1", r.ID, r.Owner, r.Version)
		}
	}
	if got := mustAcquire(t, s, "a", shortLease, 10); len(got) != 0 {
		t.Fatalf("AcquireRuns(a) after b took over = %v, want none", ids(got))
	}
}

func testAcquireRunsLimitOrderDone(t *testing.T, o Opener) {
	s := o.Open(t)
	if got := mustAcquire(t, s, "a", time.Hour, 10); len(got) != 0 {
		t.Fatalf("AcquireRuns on an empty store = %v", ids(got))
	}
	open := openRuns(t, s, "run", 6) // run-00..run-05, each followed by a done one
	if got := ids(mustAcquire(t, s, "a", time.Hour, 2)); !slices.Equal(got, open[:2]) {
		t.Fatalf("AcquireRuns(a, limit 2) = %v, want the oldest %v", got, open[:2])
	}
	if got := ids(mustAcquire(t, s, "b", time.Hour, 2)); !slices.Equal(got, open[2:4]) {
		t.Fatalf("AcquireRuns(b, limit 2) = %v, want the oldest free %v", got, open[2:4])
	}
	// The limit counts renewals too, oldest first.
	if got := ids(mustAcquire(t, s, "a", time.Hour, 2)); !slices.Equal(got, open[:2]) {
		t.Fatalf("AcquireRuns(a, limit 2) again = %v, want its own %v", got, open[:2])
	}
	want := []string{open[0], open[1], open[4], open[5]}
	if got := ids(mustAcquire(t, s, "a", time.Hour, 100)); !slices.Equal(got, want) {
		t.Fatalf("AcquireRuns(a, limit 100) = %v, want %v", got, want)
	}
	// A run finished by its owner is never acquired again, whoever asks.
	r := mustGet(t, s, open[1])
	r.Phase = store.PhaseDone
	if err := s.SaveRun(ctx(t), r); err != nil {
		t.Fatal(err)
	}
	want = []string{open[0], open[4], open[5]}
	if got := ids(mustAcquire(t, s, "a", time.Hour, 100)); !slices.Equal(got, want) {
		t.Fatalf("AcquireRuns(a) after finishing %s = %v, want %v", open[1], got, want)
	}
	if got := ids(mustAcquire(t, s, "c", time.Hour, 100)); len(got) != 0 {
		t.Fatalf("AcquireRuns(c) = %v, want none (all held or done)", got)
	}
	// At its limit, a process keeps its own runs before taking older free
	// ones: it would otherwise stop following runs it holds.
	if err := s.ReleaseRuns(ctx(t), "a"); err != nil {
		t.Fatal(err)
	}
	if got := ids(mustAcquire(t, s, "b", time.Hour, 2)); !slices.Equal(got, open[2:4]) {
		t.Fatalf("AcquireRuns(b, limit 2) with older runs free = %v, want its own %v", got, open[2:4])
	}
}

func testAcquireRunsBadArguments(t *testing.T, o Opener) {
	s := o.Open(t)
	openRuns(t, s, "run", 1)
	for _, tc := range []struct {
		owner string
		lease time.Duration
		limit int
	}{
		{"", time.Hour, 10},
		{"a", 0, 10},
		{"a", -time.Second, 10},
		{"a", time.Nanosecond, 10},
		{"a", time.Hour, 0},
		{"a", time.Hour, -1},
	} {
		if runs, err := s.AcquireRuns(ctx(t), tc.owner, tc.lease, tc.limit); err == nil {
			t.Errorf("AcquireRuns(%q, %v, %d) = %v, want an error", tc.owner, tc.lease, tc.limit, ids(runs))
		}
	}
	if err := s.ReleaseRuns(ctx(t), ""); err == nil {
		t.Error("ReleaseRuns(\"\") succeeded, want an error")
	}
	if r := mustGet(t, s, "run-00"); r.Owner != "" || !r.LeaseUntil.IsZero() {
		t.Errorf("refused calls leased the run: owner %q until %v", r.Owner, r.LeaseUntil)
	}
	c, cancel := context.WithCancel(ctx(t))
	cancel()
	if _, err := s.AcquireRuns(c, "a", time.Hour, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("AcquireRuns with a canceled context = %v, want context.Canceled", err)
	}
}

func testReleaseRuns(t *testing.T, o Opener) {
	s := o.Open(t)
	open := openRuns(t, s, "run", 3)
	mustAcquire(t, s, "a", time.Hour, 2)
	mustAcquire(t, s, "b", time.Hour, 10)
	if err := s.ReleaseRuns(ctx(t), "a"); err != nil {
		t.Fatalf("ReleaseRuns(a): %v", err)
	}
	released := mustGet(t, s, open[0])
	if released.Owner != "a" || released.Version != 1 {
		t.Errorf("released run: owner %q version %d, want a (kept as a record), 1", released.Owner, released.Version)
	}
	// At once, without waiting for an hour's lease: only a's runs.
	if got := ids(mustAcquire(t, s, "c", time.Hour, 10)); !slices.Equal(got, open[:2]) {
		t.Fatalf("AcquireRuns(c) after a released = %v, want a's %v", got, open[:2])
	}
	if r := mustGet(t, s, open[2]); r.Owner != "b" {
		t.Errorf("b's run is owned by %q after a released, want b", r.Owner)
	}
	// Releasing runs one no longer holds, or none, changes nothing.
	if err := s.ReleaseRuns(ctx(t), "a"); err != nil {
		t.Fatalf("second ReleaseRuns(a): %v", err)
	}
	if err := s.ReleaseRuns(ctx(t), "nobody"); err != nil {
		t.Fatalf("ReleaseRuns(nobody): %v", err)
	}
	if got := mustAcquire(t, s, "d", time.Hour, 10); len(got) != 0 {
		t.Fatalf("AcquireRuns(d) = %v, want none", ids(got))
	}
}

func testSaveRunLeavesLease(t *testing.T, o Opener) {
	s := o.Open(t)
	// CreateRun stores a lease as given: a run created by the process
	// that follows it is born leased.
	born := mustCreate(t, s, &store.Run{ID: "born", Phase: store.PhaseCreating, Owner: "a", LeaseUntil: time.Now().Add(time.Hour)})
	if got := mustGet(t, s, "born"); got.Owner != "a" || !got.LeaseUntil.Equal(born.LeaseUntil) {
		t.Fatalf("created with a lease, read back owner %q until %v", got.Owner, got.LeaseUntil)
	}
	if got := mustAcquire(t, s, "b", time.Hour, 10); len(got) != 0 {
		t.Fatalf("AcquireRuns(b) took %v, leased to a at creation", ids(got))
	}

	mustCreate(t, s, &store.Run{ID: "r", Phase: store.PhaseFollowing})
	stale := mustGet(t, s, "r") // read before any lease
	mustAcquire(t, s, "c", shortLease, 10)
	renewed := mustAcquire(t, s, "c", time.Hour, 10)
	if len(renewed) != 1 || renewed[0].ID != "r" {
		t.Fatalf("AcquireRuns(c) = %v, want [r]", ids(renewed))
	}
	// The save from the copy read before the leases succeeds (a lease is
	// no new version) and leaves the renewed lease alone, whatever the
	// copy says; the copy learns the stored lease.
	stale.Status = "saved from a stale copy"
	stale.Owner, stale.LeaseUntil = "", time.Now()
	if err := s.SaveRun(ctx(t), stale); err != nil {
		t.Fatalf("SaveRun of a copy read before the lease: %v", err)
	}
	got := mustGet(t, s, "r")
	if got.Owner != "c" || !got.LeaseUntil.Equal(renewed[0].LeaseUntil) || got.Status != stale.Status || got.Version != 2 {
		t.Fatalf("after the save: owner %q until %v, status %q, version %d; want c until %v, the saved status, version 2",
			got.Owner, got.LeaseUntil, got.Status, got.Version, renewed[0].LeaseUntil)
	}
	equalRuns(t, stale, got)
}

// benchOpenRuns is how many open runs the AcquireRuns benchmarks hold: far
// more than a chatops deployment follows at once.
const benchOpenRuns = 1000

// lockedMeanwhile runs acquire while LockRow holds the row id of table,
// unlocked after a moment from another goroutine, and returns what
// acquire got. An owner's renewal must wait for its own row rather than
// skip it: the watcher takes a run (or link) missing from its renewal for
// one another process took over, and drops it.
func lockedMeanwhile(t *testing.T, o Opener, s store.Store, table, id string, acquire func() []string) []string {
	t.Helper()
	if o.LockRow == nil {
		t.Skip("the store has no row locks")
	}
	unlock := o.LockRow(t, s, table, id)
	timer := time.AfterFunc(200*time.Millisecond, unlock)
	defer func() {
		if timer.Stop() {
			unlock()
		}
	}()
	return acquire()
}

func testAcquireRunsWaitsForOwnLockedRun(t *testing.T, o Opener) {
	s := o.Open(t)
	open := openRuns(t, s, "run", 3)
	if got := ids(mustAcquire(t, s, "a", time.Hour, 2)); !slices.Equal(got, open[:2]) {
		t.Fatalf("AcquireRuns(a, limit 2) = %v, want %v", got, open[:2])
	}
	// a's own run-00 is being saved: a's renewal waits for it and renews
	// it, and the limit still counts it.
	got := lockedMeanwhile(t, o, s, "runs", open[0], func() []string { return ids(mustAcquire(t, s, "a", time.Hour, 2)) })
	if !slices.Equal(got, open[:2]) {
		t.Fatalf("a's renewal while a save of its own %s was in flight = %v, want %v", open[0], got, open[:2])
	}
	// Another owner passes over a locked row it could take, without
	// waiting for it.
	if err := s.ReleaseRuns(ctx(t), "a"); err != nil {
		t.Fatal(err)
	}
	got = lockedMeanwhile(t, o, s, "runs", open[0], func() []string {
		start := time.Now()
		got := ids(mustAcquire(t, s, "b", time.Hour, 10))
		if d := time.Since(start); d >= 150*time.Millisecond {
			t.Errorf("AcquireRuns(b) waited %v for a locked row that is not b's", d)
		}
		return got
	})
	if want := open[1:]; !slices.Equal(got, want) {
		t.Fatalf("AcquireRuns(b) while %s was locked = %v, want %v", open[0], got, want)
	}
}
