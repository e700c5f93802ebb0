package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/store"
)

// The event claims and cursors part of the suite.

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
