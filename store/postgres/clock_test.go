package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/store"
)

// A process whose clock is two hours behind the database's creates a run
// (and a pending link) leased to it for an hour. The lease is judged by
// the database's clock, as AcquireRuns sets and reads leases: it must
// hold for an hour by that clock, not have lapsed an hour ago (which
// lets another replica take the run over at once). SQLite has one clock,
// the process's, so this has no counterpart in storetest.
func TestCreateLeasesByTheDatabaseClock(t *testing.T) {
	ctx := context.Background()
	s := openURL(t, freshSchema(t))
	skew := -2 * time.Hour
	s.SetClock(func() time.Time { return time.Now().Add(skew) })
	processNow := time.Now().Add(skew)

	r := &store.Run{ID: "r1", Kind: "run", Phase: store.PhaseCreating, Deadline: time.Now().Add(time.Hour),
		Owner: "a", LeaseUntil: processNow.Add(time.Hour)}
	if err := s.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	l := &store.PendingLink{ID: "l1", Identity: "test:U1", ExpiresAt: time.Now().Add(3 * time.Hour),
		Owner: "a", LeaseUntil: processNow.Add(time.Hour)}
	if err := s.CreatePendingLink(ctx, l); err != nil {
		t.Fatal(err)
	}
	var dbNow time.Time
	if err := s.pool.QueryRow(ctx, `SELECT now()`).Scan(&dbNow); err != nil {
		t.Fatal(err)
	}
	for what, until := range map[string]time.Time{"run": r.LeaseUntil, "pending link": l.LeaseUntil} {
		if d := until.Sub(dbNow.Add(time.Hour)); d < -time.Minute || d > time.Minute {
			t.Errorf("the %s's lease runs until %v, want an hour after the database's now %v", what, until, dbNow)
		}
	}
	if got, err := s.AcquireRuns(ctx, "b", time.Minute, 10); err != nil || len(got) != 0 {
		t.Fatalf("another owner acquires %d runs (%v) under a's hour-long lease", len(got), err)
	}
	if got, err := s.AcquirePendingLinks(ctx, "b", time.Minute, 10); err != nil || len(got) != 0 {
		t.Fatalf("another owner acquires %d pending links (%v) under a's hour-long lease", len(got), err)
	}
}
