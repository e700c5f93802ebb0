package storetest

// Pending links' stored answers (one winner, delivered before the
// delete) and an owner's renewal waiting for its own locked link.

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/store"
)

// testPendingLinkAnswer: one answer per link, of concurrent answerers
// (over two handles where the store has them) one is told true; the
// answer is leased to its answerer for delivery; an answered link is
// acquired, expired or not, once its answerer's lease lapses (it died
// before delivering), blocks a new link of its identity until it is
// deleted, and is read back with its answer.
func testPendingLinkAnswer(t *testing.T, o Opener) {
	stores := []store.Store{o.Open(t)}
	if o.Shared != nil {
		a, b := o.Shared(t)
		stores = []store.Store{a, b}
	}
	s := stores[0]
	l := fullPendingLink("f1", "slack:U1")
	l.Owner, l.LeaseUntil = "poller", time.Now().Add(time.Hour)
	mustCreateLink(t, s, l)

	// Every answerer at once: a paused owner, its successor, an expiry.
	var mu sync.Mutex
	var won []string
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 8 {
		wg.Go(func() {
			<-start
			who := fmt.Sprint("answerer-", i)
			ok, err := stores[i%len(stores)].AnswerPendingLink(ctx(t), "f1", []byte(who), who, time.Hour)
			if err != nil {
				t.Errorf("AnswerPendingLink(%s): %v", who, err)
			}
			if ok {
				mu.Lock()
				won = append(won, who)
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	if len(won) != 1 {
		t.Fatalf("AnswerPendingLink told true to %v, want exactly one answerer", won)
	}
	winner := won[0]
	got, err := s.GetPendingLink(ctx(t), "slack:U1")
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Answer) != winner || got.Owner != winner || got.ID != "f1" {
		t.Errorf("answered link read back with answer %q, owner %q; want both %q", got.Answer, got.Owner, winner)
	}
	if ok, err := s.AnswerPendingLink(ctx(t), "f1", []byte("later"), "late", time.Hour); err != nil || ok {
		t.Errorf("answering an answered link = %v, %v; want false", ok, err)
	}
	if ok, err := s.AnswerPendingLink(ctx(t), "nope", []byte("x"), "a", time.Hour); err != nil || ok {
		t.Errorf("answering an unknown link = %v, %v; want false", ok, err)
	}
	if _, err := s.AnswerPendingLink(ctx(t), "f1", nil, "a", time.Hour); err == nil {
		t.Error("AnswerPendingLink with an empty answer accepted")
	}
	if _, err := s.AnswerPendingLink(ctx(t), "f1", []byte("x"), "", time.Hour); err == nil {
		t.Error("AnswerPendingLink with an empty owner accepted")
	}
	// While the answerer delivers (its lease), nobody else takes it, but
	// the answerer renews it.
	if got := mustAcquireLinks(t, s, "poller", time.Hour, 10); len(got) != 0 {
		t.Errorf("the old poller acquired %v while the answerer holds it", got)
	}
	if got := mustAcquireLinks(t, s, winner, time.Hour, 10); !slices.Equal(got, []string{"slack:U1"}) {
		t.Errorf("the answerer renewing = %v, want its answered link", got)
	}
	// It stops (cleanly, so at once) before delivering.
	if err := s.ReleasePendingLinks(ctx(t), winner); err != nil {
		t.Fatal(err)
	}

	// An answered link blocks a new one, even once expired: the new link
	// would replace the row holding the answer owed.
	if err := s.CreatePendingLink(ctx(t), fullPendingLink("f2", "slack:U1")); !errors.Is(err, store.ErrExists) {
		t.Errorf("a new link while one is answered: %v, want ErrExists", err)
	}
	old := fullPendingLink("old", "slack:U2")
	old.ExpiresAt, old.Owner, old.LeaseUntil = time.Now().Add(-time.Second), "dead", time.Time{}
	mustCreateLink(t, s, old)
	if ok, err := s.AnswerPendingLink(ctx(t), "old", []byte("linked"), "dead", shortLease); err != nil || !ok {
		t.Fatalf("answering an expired link = %v, %v; want true", ok, err)
	}
	if err := s.CreatePendingLink(ctx(t), fullPendingLink("new", "slack:U2")); !errors.Is(err, store.ErrExists) {
		t.Errorf("a new link while an expired one is answered: %v, want ErrExists", err)
	}
	if got, err := s.GetPendingLink(ctx(t), "slack:U2"); err != nil || got.ID != "old" || string(got.Answer) != "linked" {
		t.Errorf("GetPendingLink(expired, answered) = %+v, %v; want it, with its answer", got, err)
	}

	// Neither answerer delivered (one stopped, one died): once their
	// leases end, another process acquires both links, expired or not,
	// with their answers, to deliver them.
	deadline := time.Now().Add(patience)
	for {
		links, err := stores[len(stores)-1].AcquirePendingLinks(ctx(t), "next", time.Hour, 10)
		if err != nil {
			t.Fatal(err)
		}
		answers := map[string]string{}
		for _, l := range links {
			answers[l.ID] = string(l.Answer)
		}
		if answers["f1"] == winner && answers["old"] == "linked" && len(answers) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the answerers' leases lapsed, another acquired %v; want f1 and old with their answers", answers)
		}
		time.Sleep(pollEvery)
	}
	// Delivered, then deleted: the identity may link again.
	for _, id := range []string{"f1", "old"} {
		if ok, err := s.DeletePendingLink(ctx(t), id); err != nil || !ok {
			t.Errorf("deleting delivered %s = %v, %v", id, ok, err)
		}
	}
	mustCreateLink(t, s, fullPendingLink("f3", "slack:U1"))
	mustCreateLink(t, s, fullPendingLink("new", "slack:U2"))
}

// testPendingLinkAcquireWaitsForOwnLockedLink: as for runs, an owner's
// renewal waits for a link of its own whose row is locked.
func testPendingLinkAcquireWaitsForOwnLockedLink(t *testing.T, o Opener) {
	s := o.Open(t)
	all := pendingLinks(t, s, "slack:U", 2)
	if got := mustAcquireLinks(t, s, "a", time.Hour, 10); !slices.Equal(got, all) {
		t.Fatalf("AcquirePendingLinks(a) = %v, want %v", got, all)
	}
	got := lockedMeanwhile(t, o, s, "pending_links", "id-"+all[0], func() []string { return mustAcquireLinks(t, s, "a", time.Hour, 10) })
	if !slices.Equal(got, all) {
		t.Fatalf("a's renewal while its own %s was locked = %v, want %v", all[0], got, all)
	}
}
