package identity

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/chatops-dev/chatops/bot/bottest"
	"github.com/chatops-dev/chatops/store"
)

// slowDelete holds the loser's DeleteIdentity until the winner saved.
type slowDelete struct {
	store.Store
	before func()
}

func (s *slowDelete) DeleteIdentity(ctx context.Context, chat string) error {
	s.before()
	return s.Store.DeleteIdentity(ctx, chat)
}

type notifySave struct {
	store.Store
	saved chan struct{}
	once  sync.Once
}

func (s *notifySave) SaveIdentity(ctx context.Context, id *store.Identity) error {
	err := s.Store.SaveIdentity(ctx, id)
	if s.saved != nil {
		s.once.Do(func() { close(s.saved) })
	}
	return err
}

// TestReviewTwoReplicasRefreshingAtOnceDeleteTheLink: replicas a and b
// refresh one link at the same time. GitLab rotates for a; b's refresh is
// refused (invalid_grant). b re-reads the link before a saved its new
// pair, concludes the link is broken and deletes it, after a's save: the
// link that GitLab still honours is gone (and its live tokens never
// revoked), and b's user is told to link again.
func TestReviewTwoReplicasRefreshingAtOnceDeleteTheLink(t *testing.T) {
	hold := &holdToken{answered: make(chan struct{}), release: make(chan struct{})}
	var ns *notifySave
	a, fake, st := refreshPlugin(t, hold, func(s store.Store) store.Store { ns = &notifySave{Store: s}; return ns })
	ns.saved = make(chan struct{})
	// Replica b: same GitLab, same store, its own process (own lock).
	b, err := New(Options{GitLabURL: fake.URL(), ClientID: "app", Sealer: a.opts.Sealer, Logger: bottest.Quiet(),
		Store: &slowDelete{Store: st, before: func() {
			close(hold.release) // a's answer arrives now...
			<-ns.saved          // ...and a saves before b's delete lands
		}}})
	if err != nil {
		t.Fatal(err)
	}
	aErr := make(chan error, 1)
	go func() { _, err := a.Actor(context.Background(), "test:U-alice"); aErr <- err }()
	<-hold.answered // GitLab rotated the pair for a
	_, bErr := b.Actor(context.Background(), "test:U-alice")
	if err := <-aErr; err != nil {
		t.Fatalf("replica a: %v", err)
	}
	if bErr != nil {
		t.Errorf("replica b told its user: %v", bErr)
	}
	if _, err := st.GetIdentity(context.Background(), "test:U-alice"); errors.Is(err, store.ErrNotFound) {
		t.Fatal("the link was deleted although replica a holds a fresh pair GitLab honours")
	}
}
