// Package storetest is the one conformance suite every store.Store
// implementation passes, so the SQLite and PostgreSQL stores cannot drift
// apart: an implementation's test calls Run with a way to open a fresh,
// empty store, and Bench for its benchmarks.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/store"
)

// Opener tells the suite how to get stores. Only Open is required; the
// tests needing the optional hooks are skipped without them.
type Opener struct {
	// Open returns a new, empty store, closed by the caller's Cleanup.
	Open func(t testing.TB) store.Store
	// Shared, when set, returns two stores opened separately on one new,
	// empty database, as two processes would. The suite checks that they
	// see each other's runs, cursors and, above all, claims: that is what
	// handles a chat event once across replicas. Nil for implementations
	// that refuse a second opener (SQLite).
	Shared func(t testing.TB) (a, b store.Store)
	// CountClaims, when set, returns how many claims s holds, expired or
	// not, to check that expired claims are deleted.
	CountClaims func(t testing.TB, s store.Store) int
	// LockRow, when set, locks the row of table ("runs" or
	// "pending_links") whose id is id, as a write of that row in flight
	// does, from another connection, until the returned func is called.
	// Nil for implementations without row locks (SQLite serializes its
	// writers).
	LockRow func(t testing.TB, s store.Store, table, id string) (unlock func())
}

// Run runs the conformance suite as subtests of t.
func Run(t *testing.T, o Opener) {
	if o.Open == nil {
		t.Fatal("storetest.Run: Opener.Open is nil")
	}
	tests := []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"CreateGetEveryField", testCreateGetEveryField},
		{"CreateGetZeroValues", testCreateGetZeroValues},
		{"CreateSetsTimesAndVersion", testCreateSetsTimesAndVersion},
		{"CreateDuplicate", testCreateDuplicate},
		{"CreateEmptyID", testCreateEmptyID},
		{"GetUnknown", testGetUnknown},
		{"RunsAreCopies", testRunsAreCopies},
		{"Save", testSave},
		{"SaveStale", testSaveStale},
		{"SaveUnknown", testSaveUnknown},
		{"OpenRuns", testOpenRuns},
		{"ListRunsFilters", testListRunsFilters},
		{"ListRunsLimits", testListRunsLimits},
		{"ListRunsByIDPrefix", testListRunsByIDPrefix},
		{"ClaimEvent", testClaimEvent},
		{"ClaimEventExpires", testClaimEventExpires},
		{"ClaimEventBadTTL", testClaimEventBadTTL},
		{"ClaimEventConcurrent", testClaimEventConcurrent},
		{"ClaimEventCleanup", testClaimEventCleanup},
		{"Cursor", testCursor},
		{"Ping", testPing},
		{"CanceledContext", testCanceledContext},
		{"ConcurrentRuns", testConcurrentRuns},
		{"ConcurrentSavesOfOneRun", testConcurrentSavesOfOneRun},
		{"Shared", testShared},
		{"AcquireRunsRace", testAcquireRunsRace},
		{"AcquireRunsRenewAndTakeover", testAcquireRunsRenewAndTakeover},
		{"AcquireRunsLimitOrderDone", testAcquireRunsLimitOrderDone},
		{"AcquireRunsBadArguments", testAcquireRunsBadArguments},
		{"ReleaseRuns", testReleaseRuns},
		{"SaveRunLeavesLease", testSaveRunLeavesLease},
		{"AcquireRunsWaitsForOwnLockedRun", testAcquireRunsWaitsForOwnLockedRun},
		{"NotifyListen", testNotifyListen},
		{"NotifyPayloadRefused", testNotifyPayloadRefused},
		{"ListenEnds", testListenEnds},
		{"SharedLeasesAndNotify", testSharedLeasesAndNotify},
		{"Identity", testIdentity},
		{"IdentityConditional", testIdentityConditional},
		{"Confirmation", testConfirmation},
		{"ConfirmationNotYours", testConfirmationNotYours},
		{"ConfirmationExpired", testConfirmationExpired},
		{"ConfirmationTakenOnce", testConfirmationTakenOnce},
		{"ConfirmationDuplicate", testConfirmationDuplicate},
		{"PendingLink", testPendingLink},
		{"PendingLinkOnePerIdentity", testPendingLinkOnePerIdentity},
		{"PendingLinkLeases", testPendingLinkLeases},
		{"PendingLinkAcquireRace", testPendingLinkAcquireRace},
		{"PendingLinkAcquireWaitsForOwnLockedLink", testPendingLinkAcquireWaitsForOwnLockedLink},
		{"PendingLinkDeleteAndExpiry", testPendingLinkDeleteAndExpiry},
		{"PendingLinkAnswer", testPendingLinkAnswer},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, o) })
	}
}

// fullRun has every field set to a non-zero value (checked by
// testCreateGetEveryField, so a field added to store.Run must be added
// here). Times have sub-second parts and a non-UTC zone.
func fullRun(id string) *store.Run {
	zone := time.FixedZone("UTC+2", 2*3600)
	return &store.Run{
		ID:          id,
		Kind:        "run",
		Platform:    "slack",
		ChannelID:   "C123",
		ThreadID:    "1700000000.000100",
		Direct:      true,
		Handle:      "interaction-token",
		ReplyID:     "1700000001.000200",
		Requester:   "slack:U42",
		UserID:      "U42",
		GitLabUser:  "alice",
		Project:     "group/app",
		ProjectID:   4242,
		Ref:         "main",
		Job:         "deploy",
		Args:        `--env "prod west" ünïcödé`,
		PipelineID:  1 << 40,
		PipelineURL: "https://gitlab.example.com/group/app/-/pipelines/1",
		JobID:       -7, // negative: plain data, not validated
		JobURL:      "https://gitlab.example.com/group/app/-/jobs/7",
		Status:      "running",
		Notes:       []string{"first note", "", "third, with 'quotes' and \"more\""},
		Phase:       store.PhaseFollowing,
		Deadline:    time.Date(2031, 3, 4, 5, 6, 7, 123456789, zone),
		Answer:      []byte{0, 1, 2, 0xff, 'x', 0},
		Attempts:    3,
		NextAttempt: time.Date(2031, 3, 4, 5, 7, 0, 987654000, zone),
		Owner:       "replica-1",
		LeaseUntil:  time.Date(2031, 3, 4, 5, 8, 0, 555555555, zone),
		// CreatedAt, UpdatedAt and Version are the store's.
		CreatedAt: time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC),
		UpdatedAt: time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC),
		Version:   99,
	}
}

// equalRuns reports the fields where got and want differ, comparing times
// with Equal and everything else with reflect.DeepEqual. It walks the
// struct, so new fields are compared without touching this function.
func equalRuns(t testing.TB, got, want *store.Run) {
	t.Helper()
	gv, wv := reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem()
	for i := range gv.NumField() {
		name := gv.Type().Field(i).Name
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		if gt, ok := g.(time.Time); ok {
			if !gt.Equal(w.(time.Time)) {
				t.Errorf("%s = %v, want %v", name, gt, w)
			}
			continue
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s = %#v, want %#v", name, g, w)
		}
	}
}

// ctx is a per-test context canceled when the test ends.
func ctx(t testing.TB) context.Context { return t.Context() }

func mustCreate(t testing.TB, s store.Store, r *store.Run) *store.Run {
	t.Helper()
	if err := s.CreateRun(ctx(t), r); err != nil {
		t.Fatalf("CreateRun(%q): %v", r.ID, err)
	}
	return r
}

func mustGet(t testing.TB, s store.Store, id string) *store.Run {
	t.Helper()
	r, err := s.GetRun(ctx(t), id)
	if err != nil {
		t.Fatalf("GetRun(%q): %v", id, err)
	}
	return r
}

func mustClaim(t testing.TB, s store.Store, key string, ttl time.Duration) bool {
	t.Helper()
	ok, err := s.ClaimEvent(ctx(t), key, ttl)
	if err != nil {
		t.Fatalf("ClaimEvent(%q): %v", key, err)
	}
	return ok
}

func ids(runs []*store.Run) []string {
	out := make([]string, len(runs))
	for i, r := range runs {
		out[i] = r.ID
	}
	return out
}

func checkUTC(t testing.TB, r *store.Run) {
	t.Helper()
	for name, tm := range map[string]time.Time{"Deadline": r.Deadline, "NextAttempt": r.NextAttempt, "LeaseUntil": r.LeaseUntil, "CreatedAt": r.CreatedAt, "UpdatedAt": r.UpdatedAt} {
		if !tm.IsZero() && tm.Location() != time.UTC {
			t.Errorf("%s is in %v, want UTC", name, tm.Location())
		}
	}
}

func testPing(t *testing.T, o Opener) {
	s := o.Open(t)
	if err := s.Ping(ctx(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// A canceled context stops the call with an error that says so.
func testCanceledContext(t *testing.T, o Opener) {
	s := o.Open(t)
	mustCreate(t, s, &store.Run{ID: "x"})
	c, cancel := context.WithCancel(ctx(t))
	cancel()
	calls := map[string]func() error{
		"GetRun":      func() error { _, err := s.GetRun(c, "x"); return err },
		"CreateRun":   func() error { return s.CreateRun(c, &store.Run{ID: "y"}) },
		"ClaimEvent":  func() error { _, err := s.ClaimEvent(c, "k", time.Hour); return err },
		"ListRuns":    func() error { _, err := s.ListRuns(c, store.RunFilter{}); return err },
		"SetCursor":   func() error { return s.SetCursor(c, "k", "v") },
		"ReleaseRuns": func() error { return s.ReleaseRuns(c, "a") },
		"Notify":      func() error { return s.Notify(c, "p") },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context = %v, want context.Canceled", name, err)
		}
	}
}

// Two handles on one database, as two replicas: one sees the other's
// writes, and a claim is won once across both.
func testShared(t *testing.T, o Opener) {
	if o.Shared == nil {
		t.Skip("Opener.Shared not set: this store does not allow two openers of one database")
	}
	a, b := o.Shared(t)
	for round := range 5 {
		if wins := claimRace(t, fmt.Sprintf("shared-%d", round), 50, a, b); wins != 1 {
			t.Fatalf("round %d: %d of 50 claims over two handles won, want exactly 1", round, wins)
		}
	}
	if !mustClaim(t, a, "seq", time.Hour) || mustClaim(t, b, "seq", time.Hour) {
		t.Fatal("a claim made through a counts nothing through b")
	}

	r := mustCreate(t, a, fullRun("both"))
	if err := b.CreateRun(ctx(t), fullRun("both")); !errors.Is(err, store.ErrExists) {
		t.Fatalf("CreateRun through b of a's run = %v, want ErrExists", err)
	}
	fromB := mustGet(t, b, "both")
	equalRuns(t, fromB, r)
	fromB.Status = "saved by b"
	if err := b.SaveRun(ctx(t), fromB); err != nil {
		t.Fatal(err)
	}
	r.Status = "saved by a, stale"
	if err := a.SaveRun(ctx(t), r); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("SaveRun through a after b saved = %v, want ErrConflict", err)
	}

	if err := a.SetCursor(ctx(t), "c", "from a"); err != nil {
		t.Fatal(err)
	}
	if v, err := b.Cursor(ctx(t), "c"); err != nil || v != "from a" {
		t.Fatalf("b.Cursor = %q, %v; want a's value", v, err)
	}
}

// Bench runs the store benchmarks as sub-benchmarks of b, each on a store
// from open. Run with -benchmem.
func Bench(b *testing.B, open func(tb testing.TB) store.Store) {
	b.Run("ClaimEvent", func(b *testing.B) {
		s := open(b)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := s.ClaimEvent(b.Context(), fmt.Sprintf("slack:Ev%d", i), time.Hour); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("ClaimEventParallel", func(b *testing.B) {
		s := open(b)
		b.ReportAllocs()
		var n atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.ClaimEvent(b.Context(), fmt.Sprintf("slack:Ev%d", n.Add(1)), time.Hour); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("CreateRun+SaveRun", func(b *testing.B) {
		s := open(b)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			r := fullRun(fmt.Sprintf("run-%d", i))
			if err := s.CreateRun(b.Context(), r); err != nil {
				b.Fatal(err)
			}
			r.Phase = store.PhaseAnswering
			if err := s.SaveRun(b.Context(), r); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	benchLeases(b, open)
	b.Run("GetRun", func(b *testing.B) {
		s := open(b)
		mustCreate(b, s, fullRun("get"))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.GetRun(b.Context(), "get"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
