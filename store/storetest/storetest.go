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
	"slices"
	"sync"
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
		{"NotifyListen", testNotifyListen},
		{"NotifyPayloadRefused", testNotifyPayloadRefused},
		{"ListenEnds", testListenEnds},
		{"SharedLeasesAndNotify", testSharedLeasesAndNotify},
		{"Identity", testIdentity},
		{"Confirmation", testConfirmation},
		{"ConfirmationNotYours", testConfirmationNotYours},
		{"ConfirmationExpired", testConfirmationExpired},
		{"ConfirmationTakenOnce", testConfirmationTakenOnce},
		{"ConfirmationDuplicate", testConfirmationDuplicate},
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

func testCreateGetEveryField(t *testing.T, o Opener) {
	s := o.Open(t)
	r := fullRun("run-1")
	// Guard: a field added to store.Run without a value in fullRun would
	// not be checked for a round trip.
	v := reflect.ValueOf(r).Elem()
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Fatalf("fullRun leaves %s zero; give it a value so its round trip is tested", v.Type().Field(i).Name)
		}
	}
	want := *r
	want.Notes = slices.Clone(r.Notes)
	want.Answer = slices.Clone(r.Answer)
	mustCreate(t, s, r)

	// CreateRun truncates times to the stored precision, in place: the
	// sub-second part survives down to the microsecond.
	want.Deadline = want.Deadline.Truncate(store.TimePrecision)
	want.NextAttempt = want.NextAttempt.Truncate(store.TimePrecision)
	want.LeaseUntil = want.LeaseUntil.Truncate(store.TimePrecision)
	want.CreatedAt, want.UpdatedAt, want.Version = r.CreatedAt, r.UpdatedAt, 1
	equalRuns(t, r, &want)
	if r.Deadline.Nanosecond() != 123456000 {
		t.Errorf("Deadline nanoseconds = %d, want 123456000 (microseconds kept)", r.Deadline.Nanosecond())
	}

	got := mustGet(t, s, r.ID)
	equalRuns(t, got, &want)
	checkUTC(t, got)
}

func testCreateGetZeroValues(t *testing.T, o Opener) {
	s := o.Open(t)
	for _, tc := range []struct {
		name string
		run  store.Run
	}{
		{"only id", store.Run{ID: "zero"}},
		{"empty slices", store.Run{ID: "empty", Notes: []string{}, Answer: []byte{}}},
		{"direct false, done", store.Run{ID: "done", Direct: false, Phase: store.PhaseDone}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.run
			mustCreate(t, s, &r)
			got := mustGet(t, s, r.ID)
			want := tc.run
			want.Notes, want.Answer = nil, nil // empty reads back as nil
			want.CreatedAt, want.UpdatedAt, want.Version = r.CreatedAt, r.UpdatedAt, 1
			equalRuns(t, got, &want)
			if !got.Deadline.IsZero() || !got.NextAttempt.IsZero() {
				t.Errorf("zero times read back as %v, %v", got.Deadline, got.NextAttempt)
			}
		})
	}
}

func testCreateSetsTimesAndVersion(t *testing.T, o Opener) {
	s := o.Open(t)
	// The database's clock may be another machine's (PostgreSQL): allow
	// some skew, but not the fixture's 1999.
	before := time.Now().Add(-time.Minute)
	r := mustCreate(t, s, fullRun("timed"))
	after := time.Now().Add(time.Minute)
	if r.CreatedAt.Before(before) || r.CreatedAt.After(after) {
		t.Errorf("CreatedAt = %v, want about now", r.CreatedAt)
	}
	if !r.UpdatedAt.Equal(r.CreatedAt) {
		t.Errorf("UpdatedAt = %v, want CreatedAt %v", r.UpdatedAt, r.CreatedAt)
	}
	if r.Version != 1 {
		t.Errorf("Version = %d, want 1", r.Version)
	}
	if r.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt is in %v, want UTC", r.CreatedAt.Location())
	}
}

func testCreateDuplicate(t *testing.T, o Opener) {
	s := o.Open(t)
	first := mustCreate(t, s, fullRun("dup"))
	second := fullRun("dup")
	second.Kind = "deploy"
	second.Version = 0
	err := s.CreateRun(ctx(t), second)
	if !errors.Is(err, store.ErrExists) {
		t.Fatalf("second CreateRun = %v, want ErrExists", err)
	}
	if second.Version != 0 {
		t.Errorf("failed CreateRun changed Version to %d", second.Version)
	}
	if got := mustGet(t, s, "dup"); got.Kind != first.Kind || got.Version != 1 {
		t.Errorf("stored run changed by the refused create: kind %q, version %d", got.Kind, got.Version)
	}
}

func testCreateEmptyID(t *testing.T, o Opener) {
	s := o.Open(t)
	if err := s.CreateRun(ctx(t), &store.Run{Kind: "run"}); err == nil {
		t.Fatal("CreateRun without an id succeeded, want an error")
	}
}

func testGetUnknown(t *testing.T, o Opener) {
	s := o.Open(t)
	if _, err := s.GetRun(ctx(t), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetRun(unknown) = %v, want ErrNotFound", err)
	}
}

// The caller owns what it passed and got: changing it changes nothing
// stored.
func testRunsAreCopies(t *testing.T, o Opener) {
	s := o.Open(t)
	r := mustCreate(t, s, fullRun("copy"))
	r.Notes[0] = "changed"
	r.Answer[0] = 'X'
	got := mustGet(t, s, "copy")
	got.Notes[1] = "changed too"
	again := mustGet(t, s, "copy")
	if again.Notes[0] != "first note" || again.Notes[1] != "" || again.Answer[0] != 0 {
		t.Fatalf("stored run shares memory with the caller: notes %q, answer %v", again.Notes, again.Answer)
	}
}

func testSave(t *testing.T, o Opener) {
	s := o.Open(t)
	r := mustCreate(t, s, fullRun("save"))
	created := r.CreatedAt
	time.Sleep(2 * time.Millisecond) // so UpdatedAt visibly moves

	r.Phase = store.PhaseAnswering
	r.Status = "success"
	r.Notes = append(r.Notes, "added")
	r.Answer = []byte("the answer")
	r.Direct = false
	r.ReplyID = ""
	r.Attempts = 0
	r.Deadline = time.Time{}
	r.NextAttempt = time.Now().Add(time.Hour)
	r.CreatedAt = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC) // ignored
	if err := s.SaveRun(ctx(t), r); err != nil {
		t.Fatalf("SaveRun: %v", err)
	}
	if r.Version != 2 {
		t.Errorf("Version after save = %d, want 2", r.Version)
	}
	if !r.UpdatedAt.After(created) {
		t.Errorf("UpdatedAt = %v, want after CreatedAt %v", r.UpdatedAt, created)
	}
	if r.NextAttempt.Nanosecond()%1000 != 0 {
		t.Errorf("SaveRun left NextAttempt %v finer than TimePrecision", r.NextAttempt)
	}
	want := *r
	want.CreatedAt = created
	got := mustGet(t, s, "save")
	equalRuns(t, got, &want)
	checkUTC(t, got)

	// A second save from the fresh copy works and bumps again.
	got.Status = "failed"
	if err := s.SaveRun(ctx(t), got); err != nil || got.Version != 3 {
		t.Fatalf("second SaveRun = %v, version %d; want nil, 3", err, got.Version)
	}
}

func testSaveStale(t *testing.T, o Opener) {
	s := o.Open(t)
	mustCreate(t, s, fullRun("stale"))
	a, b := mustGet(t, s, "stale"), mustGet(t, s, "stale")
	a.Status = "from a"
	if err := s.SaveRun(ctx(t), a); err != nil {
		t.Fatalf("SaveRun(a): %v", err)
	}
	b.Status = "from b"
	bUpdated := b.UpdatedAt
	if err := s.SaveRun(ctx(t), b); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("SaveRun(stale b) = %v, want ErrConflict", err)
	}
	if b.Version != 1 || !b.UpdatedAt.Equal(bUpdated) {
		t.Errorf("refused SaveRun changed the run: version %d, updated %v", b.Version, b.UpdatedAt)
	}
	if got := mustGet(t, s, "stale"); got.Status != "from a" || got.Version != 2 {
		t.Errorf("stored status %q version %d, want a's save (version 2)", got.Status, got.Version)
	}
	// A version from the future is as stale as one from the past.
	a.Version = 7
	if err := s.SaveRun(ctx(t), a); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("SaveRun(version 7 of 2) = %v, want ErrConflict", err)
	}
}

func testSaveUnknown(t *testing.T, o Opener) {
	s := o.Open(t)
	r := fullRun("ghost")
	r.Version = 1
	if err := s.SaveRun(ctx(t), r); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SaveRun(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.GetRun(ctx(t), "ghost"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SaveRun of an unknown run created it: GetRun = %v", err)
	}
}

// create makes runs with the given ids and phases in order, so their
// creation order is their listing order.
func create(t testing.TB, s store.Store, runs ...store.Run) {
	t.Helper()
	for i := range runs {
		r := runs[i]
		mustCreate(t, s, &r)
	}
}

func testOpenRuns(t *testing.T, o Opener) {
	s := o.Open(t)
	if runs, err := s.OpenRuns(ctx(t)); err != nil || len(runs) != 0 {
		t.Fatalf("OpenRuns on an empty store = %v, %v", ids(runs), err)
	}
	create(t, s,
		store.Run{ID: "a", Phase: store.PhaseCreating},
		store.Run{ID: "b", Phase: store.PhaseDone},
		store.Run{ID: "c", Phase: store.PhaseFollowing},
		store.Run{ID: "d", Phase: store.PhaseAnswering},
		store.Run{ID: "e"}, // no phase yet: not done, so open
	)
	// Finishing a run takes it out; its age is its creation, not its save.
	c := mustGet(t, s, "c")
	c.Phase = store.PhaseDone
	if err := s.SaveRun(ctx(t), c); err != nil {
		t.Fatal(err)
	}
	a := mustGet(t, s, "a")
	a.Phase = store.PhaseFollowing
	if err := s.SaveRun(ctx(t), a); err != nil {
		t.Fatal(err)
	}
	runs, err := s.OpenRuns(ctx(t))
	if err != nil {
		t.Fatalf("OpenRuns: %v", err)
	}
	if got, want := ids(runs), []string{"a", "d", "e"}; !slices.Equal(got, want) {
		t.Fatalf("OpenRuns = %v, want %v (oldest first, done left out)", got, want)
	}
	if runs[0].Phase != store.PhaseFollowing || runs[0].Version != 2 {
		t.Errorf("OpenRuns returned a stale run: %+v", runs[0])
	}
}

func testListRunsFilters(t *testing.T, o Opener) {
	s := o.Open(t)
	create(t, s,
		store.Run{ID: "1", Platform: "slack", ChannelID: "C1", Requester: "slack:alice", Phase: store.PhaseDone},
		store.Run{ID: "2", Platform: "slack", ChannelID: "C2", Requester: "slack:alice", Phase: store.PhaseFollowing},
		store.Run{ID: "3", Platform: "discord", ChannelID: "C1", Requester: "discord:bob", Phase: store.PhaseFollowing},
		store.Run{ID: "4", Platform: "slack", ChannelID: "C1", Requester: "slack:bob", Phase: store.PhaseAnswering},
		store.Run{ID: "5", Platform: "slack", ChannelID: "C1", Requester: "slack:alice", Phase: store.PhaseDone},
	)
	for _, tc := range []struct {
		name string
		f    store.RunFilter
		want []string
	}{
		{"everything, newest first", store.RunFilter{}, []string{"5", "4", "3", "2", "1"}},
		{"one conversation", store.RunFilter{Platform: "slack", ChannelID: "C1"}, []string{"5", "4", "1"}},
		{"same channel id on another platform", store.RunFilter{Platform: "discord", ChannelID: "C1"}, []string{"3"}},
		{"platform only", store.RunFilter{Platform: "slack"}, []string{"5", "4", "2", "1"}},
		{"requester", store.RunFilter{Requester: "slack:alice"}, []string{"5", "2", "1"}},
		{"open only", store.RunFilter{OpenOnly: true}, []string{"4", "3", "2"}},
		{"everything combined", store.RunFilter{Platform: "slack", ChannelID: "C1", Requester: "slack:alice", OpenOnly: true}, nil},
		{"conversation and requester", store.RunFilter{Platform: "slack", ChannelID: "C1", Requester: "slack:alice"}, []string{"5", "1"}},
		{"limit", store.RunFilter{Limit: 2}, []string{"5", "4"}},
		{"limit with filter", store.RunFilter{Platform: "slack", Limit: 3}, []string{"5", "4", "2"}},
		{"no match", store.RunFilter{Requester: "nobody"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runs, err := s.ListRuns(ctx(t), tc.f)
			if err != nil {
				t.Fatalf("ListRuns: %v", err)
			}
			if got := ids(runs); !slices.Equal(got, tc.want) {
				t.Fatalf("ListRuns(%+v) = %v, want %v", tc.f, got, tc.want)
			}
		})
	}
	// Listed runs are whole.
	runs, err := s.ListRuns(ctx(t), store.RunFilter{Requester: "discord:bob"})
	if err != nil || len(runs) != 1 {
		t.Fatalf("ListRuns = %v, %v", ids(runs), err)
	}
	equalRuns(t, runs[0], mustGet(t, s, "3"))
}

func testListRunsLimits(t *testing.T, o Opener) {
	if testing.Short() {
		t.Skip("creates 1001 runs")
	}
	s := o.Open(t)
	const n = store.MaxLimit + 1
	for i := range n {
		mustCreate(t, s, &store.Run{ID: fmt.Sprintf("run-%04d", i), Platform: "slack"})
	}
	for _, tc := range []struct {
		limit, want int
	}{
		{0, store.DefaultLimit},
		{-5, store.DefaultLimit},
		{1, 1},
		{store.MaxLimit, store.MaxLimit},
		{store.MaxLimit + 1, store.MaxLimit},
		{1 << 30, store.MaxLimit},
	} {
		runs, err := s.ListRuns(ctx(t), store.RunFilter{Limit: tc.limit})
		if err != nil {
			t.Fatalf("ListRuns(limit %d): %v", tc.limit, err)
		}
		if len(runs) != tc.want {
			t.Errorf("ListRuns(limit %d) returned %d runs, want %d", tc.limit, len(runs), tc.want)
			continue
		}
		if runs[0].ID != fmt.Sprintf("run-%04d", n-1) || runs[len(runs)-1].ID != fmt.Sprintf("run-%04d", n-tc.want) {
			t.Errorf("ListRuns(limit %d) = %s..%s, want the newest", tc.limit, runs[0].ID, runs[len(runs)-1].ID)
		}
	}
}

func testClaimEvent(t *testing.T, o Opener) {
	s := o.Open(t)
	for i, tc := range []struct {
		key  string
		want bool
	}{
		{"slack:Ev1", true},
		{"slack:Ev1", false},
		{"slack:Ev1", false},
		{"slack:Ev2", true},
		{"discord:Ev1", true}, // keys are opaque: another platform, another key
		{"", true},            // even an empty one
		{"", false},
	} {
		if got := mustClaim(t, s, tc.key, time.Hour); got != tc.want {
			t.Errorf("claim %d of %q = %v, want %v", i, tc.key, got, tc.want)
		}
	}
}

func testClaimEventExpires(t *testing.T, o Opener) {
	s := o.Open(t)
	const ttl = 300 * time.Millisecond
	if !mustClaim(t, s, "k", ttl) {
		t.Fatal("first claim = false")
	}
	if mustClaim(t, s, "k", ttl) {
		t.Fatal("claim within ttl = true")
	}
	// A long ttl on another key is not disturbed by the short one expiring.
	if !mustClaim(t, s, "long", time.Hour) {
		t.Fatal("first claim of long = false")
	}
	time.Sleep(ttl + 200*time.Millisecond)
	if !mustClaim(t, s, "k", ttl) {
		t.Fatal("claim after ttl = false, want true (the old claim expired)")
	}
	if mustClaim(t, s, "k", ttl) {
		t.Fatal("claim right after the renewed claim = true")
	}
	if mustClaim(t, s, "long", time.Hour) {
		t.Fatal("claim of long = true while its first claim is within ttl")
	}
}

func testClaimEventBadTTL(t *testing.T, o Opener) {
	s := o.Open(t)
	for _, ttl := range []time.Duration{0, -time.Second} {
		if _, err := s.ClaimEvent(ctx(t), "k", ttl); err == nil {
			t.Errorf("ClaimEvent(ttl %v) succeeded, want an error", ttl)
		}
	}
}

// claimRace claims key from n goroutines spread over the stores, released
// at once, and returns how many were told true.
func claimRace(t testing.TB, key string, n int, stores ...store.Store) int {
	t.Helper()
	var wins atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			ok, err := stores[i%len(stores)].ClaimEvent(ctx(t), key, time.Hour)
			if err != nil {
				errs <- err
				return
			}
			if ok {
				wins.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent ClaimEvent: %v", err)
	}
	return int(wins.Load())
}

func testClaimEventConcurrent(t *testing.T, o Opener) {
	s := o.Open(t)
	for round := range 5 {
		if wins := claimRace(t, fmt.Sprintf("race-%d", round), 50, s); wins != 1 {
			t.Fatalf("round %d: %d of 50 concurrent claims of one key won, want exactly 1", round, wins)
		}
	}
}

// Expired claims must not pile up forever: the suite allows the store to
// delete them lazily, but within a bounded number of later claims.
func testClaimEventCleanup(t *testing.T, o Opener) {
	if o.CountClaims == nil {
		t.Skip("Opener.CountClaims not set")
	}
	s := o.Open(t)
	const expiring = 150
	for i := range expiring {
		mustClaim(t, s, fmt.Sprintf("short-%d", i), time.Millisecond)
	}
	if n := o.CountClaims(t, s); n < 1 || n > expiring {
		t.Fatalf("%d claims stored after %d claims", n, expiring)
	}
	time.Sleep(50 * time.Millisecond)
	const within = 1000
	for i := range within {
		mustClaim(t, s, fmt.Sprintf("long-%d", i), time.Hour)
		if (i+1)%50 == 0 && o.CountClaims(t, s) == i+1 {
			return // only the live claims are left
		}
	}
	t.Fatalf("%d claims stored after %d live claims: the %d expired ones were not deleted", o.CountClaims(t, s), within, expiring)
}

func testCursor(t *testing.T, o Opener) {
	s := o.Open(t)
	get := func(key string) string {
		t.Helper()
		v, err := s.Cursor(ctx(t), key)
		if err != nil {
			t.Fatalf("Cursor(%q): %v", key, err)
		}
		return v
	}
	set := func(key, value string) {
		t.Helper()
		if err := s.SetCursor(ctx(t), key, value); err != nil {
			t.Fatalf("SetCursor(%q, %q): %v", key, value, err)
		}
	}
	if v := get("mattermost:last"); v != "" {
		t.Fatalf("missing cursor = %q, want empty", v)
	}
	set("mattermost:last", "post-1")
	set("other", "x")
	if v := get("mattermost:last"); v != "post-1" {
		t.Fatalf("cursor = %q, want post-1", v)
	}
	set("mattermost:last", "post-2")
	if v := get("mattermost:last"); v != "post-2" {
		t.Fatalf("overwritten cursor = %q, want post-2", v)
	}
	set("mattermost:last", "")
	if v := get("mattermost:last"); v != "" {
		t.Fatalf("cursor set to empty = %q", v)
	}
	if v := get("other"); v != "x" {
		t.Fatalf("other cursor = %q, want x", v)
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

// Many goroutines create, save, read and list different runs at once;
// run with -race.
func testConcurrentRuns(t *testing.T, o Opener) {
	s := o.Open(t)
	const workers, saves = 16, 10
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			r := &store.Run{ID: fmt.Sprintf("w%d", w), Platform: "slack", Requester: fmt.Sprintf("u%d", w)}
			if err := s.CreateRun(ctx(t), r); err != nil {
				t.Errorf("CreateRun: %v", err)
				return
			}
			for i := range saves {
				r.Attempts = i + 1
				r.Notes = append(r.Notes, fmt.Sprint(i))
				if err := s.SaveRun(ctx(t), r); err != nil {
					t.Errorf("SaveRun %s #%d: %v", r.ID, i, err)
					return
				}
				if _, err := s.ListRuns(ctx(t), store.RunFilter{Requester: r.Requester}); err != nil {
					t.Errorf("ListRuns: %v", err)
				}
				if _, err := s.ClaimEvent(ctx(t), fmt.Sprintf("%s-%d", r.ID, i), time.Hour); err != nil {
					t.Errorf("ClaimEvent: %v", err)
				}
				if err := s.SetCursor(ctx(t), r.ID, fmt.Sprint(i)); err != nil {
					t.Errorf("SetCursor: %v", err)
				}
			}
		})
	}
	wg.Wait()
	runs, err := s.OpenRuns(ctx(t))
	if err != nil || len(runs) != workers {
		t.Fatalf("OpenRuns = %d runs, %v; want %d", len(runs), err, workers)
	}
	for _, r := range runs {
		if r.Version != saves+1 || r.Attempts != saves || len(r.Notes) != saves {
			t.Errorf("%s: version %d, attempts %d, %d notes; want %d, %d, %d", r.ID, r.Version, r.Attempts, len(r.Notes), saves+1, saves, saves)
		}
	}
}

// Read-modify-save with retry on ErrConflict loses no update: the
// optimistic version check is what keeps two handlers of one run honest.
func testConcurrentSavesOfOneRun(t *testing.T, o Opener) {
	s := o.Open(t)
	mustCreate(t, s, &store.Run{ID: "shared"})
	const workers, each = 8, 5
	var conflicts atomic.Int32
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for done := 0; done < each; {
				r, err := s.GetRun(ctx(t), "shared")
				if err != nil {
					t.Errorf("GetRun: %v", err)
					return
				}
				r.Attempts++
				switch err := s.SaveRun(ctx(t), r); {
				case errors.Is(err, store.ErrConflict):
					conflicts.Add(1)
				case err != nil:
					t.Errorf("SaveRun: %v", err)
					return
				default:
					done++
				}
			}
		})
	}
	wg.Wait()
	r := mustGet(t, s, "shared")
	if r.Attempts != workers*each || r.Version != workers*each+1 {
		t.Fatalf("attempts %d, version %d; want %d, %d (lost updates)", r.Attempts, r.Version, workers*each, workers*each+1)
	}
	t.Logf("%d conflicts retried", conflicts.Load())
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
