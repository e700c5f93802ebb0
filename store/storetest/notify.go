package storetest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/store"
)

// The notification part of the suite: Notify and Listen, alone and
// together with leases across stores sharing one database.

// heard collects what one Listen call receives.
type heard struct {
	mu  sync.Mutex
	got []string
}

func (h *heard) add(p string) {
	h.mu.Lock()
	h.got = append(h.got, p)
	h.mu.Unlock()
}

// with returns the payloads received so far that start with prefix.
func (h *heard) with(prefix string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, p := range h.got {
		if strings.HasPrefix(p, prefix) {
			out = append(out, p)
		}
	}
	return out
}

// listen runs s.Listen until the returned stop is called (or the test
// ends), which waits for Listen to return and returns its error.
func listen(t testing.TB, s store.Store) (h *heard, stop func() error) {
	t.Helper()
	h = &heard{}
	c, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Listen(c, h.add) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-errc:
			case <-time.After(patience):
				err = fmt.Errorf("Listen did not return within %v of its context's end", patience)
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return h, stop
}

// token is a prefix no other test's payloads start with: PostgreSQL
// channels are database-wide, and other tests may share the database.
func token() string { return "t" + rand.Text()[:12] + ":" }

// waitListening notifies through s until every h has heard it: Listen
// may not have begun listening when it was called, and a payload sent
// before then is missed.
func waitListening(t testing.TB, s store.Store, tok string, hs ...*heard) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for i := 0; ; i++ {
		if err := s.Notify(ctx(t), fmt.Sprintf("%ssync-%d", tok, i)); err != nil {
			t.Fatalf("Notify: %v", err)
		}
		time.Sleep(pollEvery)
		all := true
		for _, h := range hs {
			all = all && len(h.with(tok+"sync-")) > 0
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a Listen heard nothing within %v", patience)
		}
	}
}

// waitHeard waits until h heard len(want) payloads starting with prefix
// and checks they are want, in order.
func waitHeard(t testing.TB, h *heard, prefix string, want ...string) {
	t.Helper()
	for deadline := time.Now().Add(patience); len(h.with(prefix)) < len(want); time.Sleep(pollEvery) {
		if time.Now().After(deadline) {
			t.Fatalf("heard %q within %v, want %q", h.with(prefix), patience, want)
		}
	}
	if got := h.with(prefix); !slices.Equal(got, want) {
		t.Fatalf("heard %q, want %q", got, want)
	}
}

func testNotifyListen(t *testing.T, o Opener) {
	s := o.Open(t)
	tok := token()
	h1, _ := listen(t, s)
	h2, _ := listen(t, s)
	waitListening(t, s, tok, h1, h2)

	// Every listener hears every payload once, in order; the largest
	// allowed and non-ASCII ones arrive whole.
	big := tok + "big:" + strings.Repeat("x", store.MaxPayload-len(tok)-len("big:"))
	want := []string{tok + "one", tok + "two ünïcödé ✓", big, tok + "three"}
	for _, p := range want {
		if err := s.Notify(ctx(t), p); err != nil {
			t.Fatalf("Notify(%d bytes): %v", len(p), err)
		}
	}
	for _, h := range []*heard{h1, h2} {
		for deadline := time.Now().Add(patience); ; time.Sleep(pollEvery) {
			got := slices.DeleteFunc(h.with(tok), func(p string) bool { return strings.HasPrefix(p, tok+"sync-") })
			if len(got) >= len(want) {
				if !slices.Equal(got, want) {
					t.Fatalf("heard %d payloads %.40q..., want %.40q...", len(got), got, want)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("heard %d of %d payloads within %v", len(got), len(want), patience)
			}
		}
	}
}

func testNotifyPayloadRefused(t *testing.T, o Opener) {
	s := o.Open(t)
	for name, p := range map[string]string{
		"one byte too long": strings.Repeat("x", store.MaxPayload+1),
		"far too long":      strings.Repeat("é", 10000),
		"not UTF-8":         "bad \xff byte",
		"NUL byte":          "nul \x00 byte",
	} {
		if err := s.Notify(ctx(t), p); !errors.Is(err, store.ErrPayload) {
			t.Errorf("Notify(%s) = %v, want ErrPayload", name, err)
		}
	}
	if err := s.Notify(ctx(t), ""); err != nil {
		t.Errorf("Notify of an empty payload: %v", err)
	}
}

// Listen returns nil when its context ends, and when the store is closed.
func testListenEnds(t *testing.T, o Opener) {
	s := o.Open(t)
	tok := token()
	h, stop := listen(t, s)
	waitListening(t, s, tok, h)
	if err := stop(); err != nil {
		t.Fatalf("Listen after its context ended = %v, want nil", err)
	}

	// A context ended before Listen began.
	c, cancel := context.WithCancel(ctx(t))
	cancel()
	if err := s.Listen(c, func(string) {}); err != nil {
		t.Fatalf("Listen with an ended context = %v, want nil", err)
	}

	// The store closed under a Listen.
	s2 := o.Open(t)
	h2, _ := listen(t, s2)
	errc := make(chan error, 1)
	go func() { errc <- s2.Listen(context.Background(), func(string) {}) }()
	waitListening(t, s2, tok, h2)
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Listen after Close = %v, want nil", err)
		}
	case <-time.After(patience):
		t.Fatalf("Listen still running %v after Close", patience)
	}
}

// Two handles on one database, as two replicas: leases are decided
// across both, and a payload notified through one reaches Listen on both.
func testSharedLeasesAndNotify(t *testing.T, o Opener) {
	if o.Shared == nil {
		t.Skip("Opener.Shared not set: this store does not allow two openers of one database")
	}
	a, b := o.Shared(t)
	acquireRace(t, 50, []string{"a", "b"}, a, b)

	tok := token()
	ha, _ := listen(t, a)
	hb, _ := listen(t, b)
	waitListening(t, a, tok, ha, hb)
	if err := b.Notify(ctx(t), tok+"from b"); err != nil {
		t.Fatal(err)
	}
	if err := a.Notify(ctx(t), tok+"from a"); err != nil {
		t.Fatal(err)
	}
	waitHeard(t, ha, tok+"from", tok+"from b", tok+"from a")
	waitHeard(t, hb, tok+"from", tok+"from b", tok+"from a")
}
