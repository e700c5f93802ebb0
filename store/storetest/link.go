package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/store"
)

// The pending link contract: one unexpired or answered link per
// identity, leases as for runs, one answer stored per link, deletion by
// flow id, expiry.

// fullPendingLink has every field set but the ones the store sets
// (checked by testPendingLink, so a field added to store.PendingLink must
// be added here). Times have sub-microsecond parts and a non-UTC zone.
func fullPendingLink(id, identity string) *store.PendingLink {
	zone := time.FixedZone("UTC+2", 2*3600)
	return &store.PendingLink{
		ID: id, Identity: identity,
		Platform: "slack", ChannelID: "D1", ThreadID: "17.1", Direct: true, Handle: "h",
		DeviceCode: []byte{0, 1, 2, 0xff, 0},
		Interval:   5*time.Second + 1500*time.Nanosecond,
		ExpiresAt:  time.Now().Add(time.Hour).In(zone),
		Owner:      "a", LeaseUntil: time.Now().Add(time.Minute).In(zone),
		Answer: []byte("not stored: a new link has none"),
	}
}

// pendingLinks creates n unexpired, unowned pending links for identities
// prefix-00.., in that order, and returns the identities.
func pendingLinks(t testing.TB, s store.Store, prefix string, n int) []string {
	t.Helper()
	var out []string
	for i := range n {
		who := fmt.Sprintf("%s-%02d", prefix, i)
		mustCreateLink(t, s, &store.PendingLink{ID: "id-" + who, Identity: who, ExpiresAt: time.Now().Add(time.Hour)})
		out = append(out, who)
	}
	return out
}

func mustCreateLink(t testing.TB, s store.Store, l *store.PendingLink) {
	t.Helper()
	if err := s.CreatePendingLink(ctx(t), l); err != nil {
		t.Fatalf("CreatePendingLink(%s): %v", l.Identity, err)
	}
}

func mustAcquireLinks(t testing.TB, s store.Store, owner string, lease time.Duration, limit int) []string {
	t.Helper()
	links, err := s.AcquirePendingLinks(ctx(t), owner, lease, limit)
	if err != nil {
		t.Fatalf("AcquirePendingLinks(%q): %v", owner, err)
	}
	var who []string
	for _, l := range links {
		if l.Owner != owner || l.LeaseUntil.IsZero() {
			t.Errorf("AcquirePendingLinks(%q) returned %s owned by %q until %v", owner, l.Identity, l.Owner, l.LeaseUntil)
		}
		who = append(who, l.Identity)
	}
	return who
}

func testPendingLink(t *testing.T, o Opener) {
	s := o.Open(t)
	l := fullPendingLink("f1", "slack:U1")
	mustCreateLink(t, s, l)
	if l.CreatedAt.IsZero() || l.ExpiresAt.Location() != time.UTC || l.Interval != 5*time.Second+time.Microsecond || l.Answer != nil {
		t.Errorf("created link: CreatedAt %v, ExpiresAt %v, Interval %v, Answer %q; want set, UTC, truncated, none",
			l.CreatedAt, l.ExpiresAt, l.Interval, l.Answer)
	}
	got, err := s.GetPendingLink(ctx(t), "slack:U1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, l) {
		t.Errorf("read back %+v, want %+v", got, l)
	}
	moved := *l
	moved.ChannelID, moved.ThreadID, moved.Direct, moved.Handle = "D2", "", false, "h2"
	moved.Platform, moved.Interval = "ignored", time.Hour // only where it answers is saved
	if err := s.SetPendingLinkTarget(ctx(t), &moved); err != nil {
		t.Fatal(err)
	}
	want := *l
	want.ChannelID, want.ThreadID, want.Direct, want.Handle = "D2", "", false, "h2"
	if got, err := s.GetPendingLink(ctx(t), "slack:U1"); err != nil || !reflect.DeepEqual(got, &want) {
		t.Errorf("after SetPendingLinkTarget read back %+v (%v), want %+v", got, err, &want)
	}
	if err := s.SetPendingLinkTarget(ctx(t), &store.PendingLink{ID: "nope"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetPendingLinkTarget(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.GetPendingLink(ctx(t), "slack:U2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetPendingLink(unknown) = %v, want ErrNotFound", err)
	}
	for _, bad := range []*store.PendingLink{{Identity: "slack:U3"}, {ID: "f3"}} {
		if err := s.CreatePendingLink(ctx(t), bad); err == nil {
			t.Errorf("CreatePendingLink(%+v) accepted", bad)
		}
	}
}

// testPendingLinkOnePerIdentity: an identity's unexpired link refuses a
// second one (also among concurrent creators); an expired one is
// replaced.
func testPendingLinkOnePerIdentity(t *testing.T, o Opener) {
	s := o.Open(t)
	mustCreateLink(t, s, fullPendingLink("f1", "slack:U1"))
	if err := s.CreatePendingLink(ctx(t), fullPendingLink("f2", "slack:U1")); !errors.Is(err, store.ErrExists) {
		t.Fatalf("second link of one identity: %v, want ErrExists", err)
	}
	if got, err := s.GetPendingLink(ctx(t), "slack:U1"); err != nil || got.ID != "f1" {
		t.Fatalf("after the refused one, the stored link is %+v (%v), want f1", got, err)
	}
	mustCreateLink(t, s, fullPendingLink("f3", "slack:U2"))

	old := fullPendingLink("old", "slack:U4")
	old.ExpiresAt = time.Now().Add(-time.Second)
	mustCreateLink(t, s, old)
	if _, err := s.GetPendingLink(ctx(t), "slack:U4"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetPendingLink(expired) = %v, want ErrNotFound", err)
	}
	mustCreateLink(t, s, fullPendingLink("new", "slack:U4"))
	if got, err := s.GetPendingLink(ctx(t), "slack:U4"); err != nil || got.ID != "new" {
		t.Fatalf("the expired link was not replaced: %+v (%v)", got, err)
	}
	if ok, err := s.DeletePendingLink(ctx(t), "old"); err != nil || ok {
		t.Errorf("deleting the replaced flow = %v, %v; want false: it is gone", ok, err)
	}
	if _, err := s.GetPendingLink(ctx(t), "slack:U4"); err != nil {
		t.Errorf("deleting the replaced flow deleted the new one: %v", err)
	}

	// Two `link`s at once (two replicas): one flow.
	stores := []store.Store{s, s}
	if o.Shared != nil {
		a, b := o.Shared(t)
		stores = []store.Store{a, b}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := range 8 {
		wg.Go(func() {
			err := stores[i%2].CreatePendingLink(ctx(t), fullPendingLink(fmt.Sprint("race-", i), "slack:U9"))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case !errors.Is(err, store.ErrExists):
				t.Errorf("concurrent CreatePendingLink: %v", err)
			}
		})
	}
	wg.Wait()
	if won != 1 {
		t.Errorf("%d concurrent creators got a link for one identity, want 1", won)
	}
}

// testPendingLinkLeases: as for runs: free links go to the first owner,
// held ones to nobody else, renewed by their owner, taken over once
// lapsed or released; expired ones to nobody. Oldest first, bounded.
func testPendingLinkLeases(t *testing.T, o Opener) {
	s := o.Open(t)
	all := pendingLinks(t, s, "slack:U", 3)
	expired := fullPendingLink("gone", "slack:X")
	expired.Owner, expired.LeaseUntil, expired.ExpiresAt = "", time.Time{}, time.Now().Add(-time.Second)
	mustCreateLink(t, s, expired)

	if got := mustAcquireLinks(t, s, "a", shortLease, 2); !slices.Equal(got, all[:2]) {
		t.Fatalf("AcquirePendingLinks(a, limit 2) = %v, want the oldest %v", got, all[:2])
	}
	if got := mustAcquireLinks(t, s, "b", time.Hour, 10); !slices.Equal(got, all[2:]) {
		t.Fatalf("AcquirePendingLinks(b) while a's hold = %v, want %v", got, all[2:])
	}
	if got := mustAcquireLinks(t, s, "a", shortLease, 10); !slices.Equal(got, all[:2]) {
		t.Fatalf("a renewing = %v, want its own %v", got, all[:2])
	}
	// a stops renewing: b takes a's links once the lease lapses.
	deadline := time.Now().Add(patience)
	for {
		got := mustAcquireLinks(t, s, "b", time.Hour, 10)
		if slices.Equal(got, all) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("AcquirePendingLinks(b) after a's leases lapsed = %v, want %v", got, all)
		}
		time.Sleep(pollEvery)
	}
	if err := s.ReleasePendingLinks(ctx(t), "b"); err != nil {
		t.Fatal(err)
	}
	if got := mustAcquireLinks(t, s, "c", time.Hour, 10); !slices.Equal(got, all) {
		t.Fatalf("AcquirePendingLinks(c) after b released = %v, want %v at once", got, all)
	}
	if err := s.ReleasePendingLinks(ctx(t), ""); err == nil {
		t.Error("ReleasePendingLinks with an empty owner accepted")
	}
	if _, err := s.AcquirePendingLinks(ctx(t), "", time.Hour, 1); err == nil {
		t.Error("AcquirePendingLinks with an empty owner accepted")
	}
}

// testPendingLinkAcquireRace: owners racing (over two handles where the
// store has them) each get a link only if nobody else did.
func testPendingLinkAcquireRace(t *testing.T, o Opener) {
	stores := []store.Store{o.Open(t)}
	if o.Shared != nil {
		a, b := o.Shared(t)
		stores = []store.Store{a, b}
	}
	all := pendingLinks(t, stores[0], "slack:U", 30)
	var mu sync.Mutex
	gotBy := map[string][]string{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 20 {
		owner := fmt.Sprint("owner-", i%4)
		wg.Go(func() {
			<-start
			links, err := stores[i%len(stores)].AcquirePendingLinks(ctx(t), owner, time.Hour, 1+i%7)
			if err != nil {
				t.Errorf("AcquirePendingLinks(%s): %v", owner, err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, l := range links {
				if !slices.Contains(gotBy[l.Identity], owner) {
					gotBy[l.Identity] = append(gotBy[l.Identity], owner)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	for _, who := range all {
		if len(gotBy[who]) > 1 {
			t.Errorf("link %s was leased to %v, want one owner", who, gotBy[who])
		}
	}
}

// testPendingLinkDeleteAndExpiry: DeletePendingLink says true once;
// ExpiredPendingLinks returns the expired, unanswered links nobody holds
// and deletes nothing (their answer is owed until delivered); answered,
// they are no longer returned.
func testPendingLinkDeleteAndExpiry(t *testing.T, o Opener) {
	s := o.Open(t)
	mustCreateLink(t, s, fullPendingLink("f1", "slack:U1"))
	for i, want := range []bool{true, false} {
		if ok, err := s.DeletePendingLink(ctx(t), "f1"); err != nil || ok != want {
			t.Errorf("DeletePendingLink #%d = %v, %v; want %v", i+1, ok, err, want)
		}
	}
	if _, err := s.GetPendingLink(ctx(t), "slack:U1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after deletion: %v, want ErrNotFound", err)
	}

	live := pendingLinks(t, s, "slack:L", 2)
	for i := range 3 {
		l := fullPendingLink(fmt.Sprint("x", i), fmt.Sprint("slack:X", i))
		l.ExpiresAt = time.Now().Add(-time.Duration(i+1) * time.Second)
		l.Owner, l.LeaseUntil = "", time.Time{}
		if i == 2 {
			l.Owner, l.LeaseUntil = "dead", time.Now().Add(-time.Second) // a lapsed lease
		}
		mustCreateLink(t, s, l)
	}
	// Expired but leased by a live owner: its own poll answers it.
	held := fullPendingLink("h", "slack:H")
	held.ExpiresAt = time.Now().Add(-time.Second)
	mustCreateLink(t, s, held)
	expired := func() []string {
		t.Helper()
		links, err := s.ExpiredPendingLinks(ctx(t))
		if err != nil {
			t.Fatalf("ExpiredPendingLinks: %v", err)
		}
		var ids []string
		for _, l := range links {
			ids = append(ids, l.ID)
			if l.Platform != "slack" || l.ChannelID != "D1" || len(l.DeviceCode) == 0 || l.Answer != nil {
				t.Errorf("expired link %s returned as %+v: the caller tells its user from it", l.ID, l)
			}
		}
		slices.Sort(ids)
		return ids
	}
	if got := expired(); !slices.Equal(got, []string{"x0", "x1", "x2"}) {
		t.Errorf("ExpiredPendingLinks = %v; want x0, x1, x2", got)
	}
	// Reading deleted nothing: until answered, they are all returned
	// again (a caller that died before answering lost nothing).
	if got := expired(); !slices.Equal(got, []string{"x0", "x1", "x2"}) {
		t.Errorf("second ExpiredPendingLinks = %v; want x0, x1, x2 again", got)
	}
	// x1 is answered by a process that dies before delivering: once its
	// lease lapses, the answer is owed, and x1 is the acquirers' to
	// deliver, not an unanswered expired link.
	if ok, err := s.AnswerPendingLink(ctx(t), "x1", []byte("expired"), "cleaner", time.Millisecond); err != nil || !ok {
		t.Fatalf("answering expired x1 = %v, %v; want true", ok, err)
	}
	time.Sleep(10 * time.Millisecond)
	if got := expired(); !slices.Equal(got, []string{"x0", "x2"}) {
		t.Errorf("ExpiredPendingLinks after x1 was answered = %v; want x0, x2", got)
	}
	if ok, err := s.DeletePendingLink(ctx(t), "h"); err != nil || !ok {
		t.Errorf("the expired link a live owner holds was deleted (%v, %v)", ok, err)
	}
	for _, who := range live {
		if _, err := s.GetPendingLink(ctx(t), who); err != nil {
			t.Errorf("unexpired link %s: %v", who, err)
		}
	}
}
