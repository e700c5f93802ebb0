package identity

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/chatops-dev/chatops/bot/bottest"
	"github.com/chatops-dev/chatops/store"
)

// cancelAfterToken cancels a context once GitLab's /oauth/token answer
// is in hand: the command asking for the actor was cut (shutdown grace
// over, the request's deadline) right after GitLab rotated the tokens.
type cancelAfterToken struct {
	mu     sync.Mutex
	cancel context.CancelFunc
}

func (c *cancelAfterToken) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	c.mu.Lock()
	cancel := c.cancel
	c.mu.Unlock()
	if err == nil && cancel != nil && strings.HasSuffix(r.URL.Path, "/oauth/token") {
		cancel()
	}
	return resp, err
}

// TestReviewRefreshCutAfterRotationLosesTheLink: a command whose context
// ends while its refresh is under way (GitLab already rotated the pair)
// does not save the new pair; the old refresh token is spent, so the next
// command finds the link "broken" and deletes it. A refresh GitLab
// answered must be saved whatever becomes of the command that asked.
func TestReviewRefreshCutAfterRotationLosesTheLink(t *testing.T) {
	tr := &cancelAfterToken{}
	p, fake, st := refreshPlugin(t, tr, nil)
	ctx, cancel := context.WithCancel(context.Background())
	tr.mu.Lock()
	tr.cancel = cancel
	tr.mu.Unlock()
	_, err := p.Actor(ctx, "test:U-alice")
	t.Logf("first Actor (cut): %v", err)
	tr.mu.Lock()
	tr.cancel = nil
	tr.mu.Unlock()
	if fake.Refreshes() != 1 {
		t.Fatalf("%d refreshes, want 1", fake.Refreshes())
	}
	// The next command, with a live context.
	if _, err := p.Actor(context.Background(), "test:U-alice"); err != nil {
		t.Errorf("next command: %v (the rotated pair GitLab issued was never saved)", err)
	}
	if _, err := st.GetIdentity(context.Background(), "test:U-alice"); errors.Is(err, store.ErrNotFound) {
		t.Fatal("the link was deleted although the user never revoked it")
	}
}

// failSaveOnce fails the first SaveIdentity, as a store's bad moment.
type failSaveOnce struct {
	store.Store
	mu     sync.Mutex
	armed  bool
	failed bool
}

func (f *failSaveOnce) SaveIdentity(ctx context.Context, id *store.Identity) error {
	f.mu.Lock()
	first := f.armed && !f.failed
	if f.armed {
		f.failed = true
	}
	f.mu.Unlock()
	if first {
		return errors.New("database is locked")
	}
	return f.Store.SaveIdentity(ctx, id)
}

// TestReviewRefreshSaveFailureLosesTheLink: one failed write of the
// rotated pair (a transient store error) makes the link unusable: the old
// refresh token is spent in GitLab, the new one only lived in memory.
func TestReviewRefreshSaveFailureLosesTheLink(t *testing.T) {
	var fs *failSaveOnce
	p, _, st := refreshPlugin(t, http.DefaultTransport, func(s store.Store) store.Store { fs = &failSaveOnce{Store: s}; return fs })
	fs.mu.Lock()
	fs.armed = true
	fs.mu.Unlock()
	_, err := p.Actor(context.Background(), "test:U-alice")
	t.Logf("first Actor (save failed): %v", err)
	if _, err := p.Actor(context.Background(), "test:U-alice"); err != nil {
		t.Errorf("next command: %v", err)
	}
	if _, err := st.GetIdentity(context.Background(), "test:U-alice"); errors.Is(err, store.ErrNotFound) {
		t.Fatal("the link was deleted after one failed store write")
	}
}

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
