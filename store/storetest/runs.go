package storetest

import (
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

// The runs part of the suite: create, read, save, list.

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
	// A lease is stored as its span from now by the deciding clock (see
	// testCreateLeaseByTheDatabaseClock): read back, it is off by the
	// time the call took.
	if d := r.LeaseUntil.Sub(want.LeaseUntil); d < -time.Second || d > time.Second {
		t.Errorf("LeaseUntil = %v, want about %v", r.LeaseUntil, want.LeaseUntil)
	}
	want.LeaseUntil = r.LeaseUntil
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
