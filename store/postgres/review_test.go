package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/store"
)

// Written in review (branch review-runs); expected to FAIL until fixed.
//
// AcquireRuns is also how a process renews the leases of the runs it
// already follows, and the watcher takes a run missing from its answer
// for one "another process took over" (plugins/run/leases.go acquired:
// dropped, or its task's result thrown away). On PostgreSQL the pick is
// FOR UPDATE SKIP LOCKED, so a run whose row is locked by a save in
// flight at that moment (the same process's own SaveRun, which every
// progress edit and answer does) is skipped: the owner's renewal neither
// renews nor returns its own run. SQLite, with one writer, never does.
func TestReviewRenewalSkipsTheOwnersOwnRunWhileItIsBeingSaved(t *testing.T) {
	ctx := context.Background()
	s := openURL(t, freshSchema(t))
	r := &store.Run{ID: "r1", Kind: "run", Platform: "test", ChannelID: "C1", Job: "hello",
		Phase: store.PhaseFollowing, Deadline: time.Now().Add(time.Hour)}
	if err := s.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got, err := s.AcquireRuns(ctx, "me", 10*time.Second, 100); err != nil || len(got) != 1 {
		t.Fatalf("first acquire: %d runs, %v", len(got), err)
	}
	// A save of the run is in flight (its UPDATE holds the row lock).
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `UPDATE runs SET status = 'running', version = version + 1 WHERE id = 'r1'`); err != nil {
		t.Fatal(err)
	}
	got, err := s.AcquireRuns(ctx, "me", 10*time.Second, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("the owner's renewal returned %d runs: its own run, being saved at that moment, was skipped (and the watcher drops it as taken over)", len(got))
	}
}
