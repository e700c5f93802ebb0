package identity

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/bottest"
	"github.com/chatops-dev/chatops/commands"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
	"github.com/chatops-dev/chatops/store"
	"github.com/chatops-dev/chatops/store/seal"
	"github.com/chatops-dev/chatops/store/sqlite"
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

func reviewPlugin(t *testing.T, tr http.RoundTripper, wrap func(store.Store) store.Store) (*Plugin, *gitlabtest.Server, store.Store) {
	t.Helper()
	fake := gitlabtest.New(gitlabtest.Options{})
	t.Cleanup(fake.Close)
	fake.AddUser("alice", gitlabtest.Developer)
	fake.SetTokenLifetime(time.Minute) // below RefreshBefore: every Actor refreshes
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, _ := seal.New(bytes.Repeat([]byte{1}, seal.KeySize))
	var s store.Store = st
	if wrap != nil {
		s = wrap(st)
	}
	p, err := New(Options{GitLabURL: fake.URL(), ClientID: "app", Store: s, Sealer: sealer, Logger: bottest.Quiet(),
		HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatal(err)
	}
	access, refresh := fake.IssueToken("alice")
	if err := p.save(context.Background(), "test:U-alice", 1, "alice",
		&oauth2.Token{AccessToken: access, RefreshToken: refresh, Expiry: time.Now().Add(time.Minute)}, time.Now()); err != nil {
		t.Fatal(err)
	}
	return p, fake, st
}

// TestReviewRefreshCutAfterRotationLosesTheLink: a command whose context
// ends while its refresh is under way (GitLab already rotated the pair)
// does not save the new pair; the old refresh token is spent, so the next
// command finds the link "broken" and deletes it. A refresh GitLab
// answered must be saved whatever becomes of the command that asked.
func TestReviewRefreshCutAfterRotationLosesTheLink(t *testing.T) {
	tr := &cancelAfterToken{}
	p, fake, st := reviewPlugin(t, tr, nil)
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
	p, _, st := reviewPlugin(t, http.DefaultTransport, func(s store.Store) store.Store { fs = &failSaveOnce{Store: s}; return fs })
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

// holdToken lets GitLab answer /oauth/token, then holds the answer until
// release is closed: the replica that won the rotation is slow to save.
type holdToken struct {
	answered chan struct{}
	release  chan struct{}
	once     sync.Once
}

func (h *holdToken) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if strings.HasSuffix(r.URL.Path, "/oauth/token") {
		h.once.Do(func() { close(h.answered) })
		<-h.release
	}
	return resp, err
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
	a, fake, st := reviewPlugin(t, hold, func(s store.Store) store.Store { ns = &notifySave{Store: s}; return ns })
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

// replies records a handler's replies.
type replies struct {
	mu  sync.Mutex
	got []bot.Reply
}

func (r *replies) Reply(_ context.Context, rep bot.Reply) (bot.Sent, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, rep)
	return bot.Sent{}, nil
}

func (r *replies) Update(ctx context.Context, _ bot.Sent, rep bot.Reply) (bot.Sent, error) {
	return r.Reply(ctx, rep)
}

// TestReviewUnlinkDuringRefreshResurrectsTheLink: the user sends a
// command (its actor is being refreshed: GitLab already issued the new
// pair) and `unlink` at once. unlink revokes the stored (old) pair and
// deletes the link, answering "Unlinked ... tokens were revoked"; then the
// refresh saves the new pair: the link is back, with live tokens the bot
// goes on acting with, although the user was told it stopped.
func TestReviewUnlinkDuringRefreshResurrectsTheLink(t *testing.T) {
	hold := &holdToken{answered: make(chan struct{}), release: make(chan struct{})}
	p, fake, st := reviewPlugin(t, hold, nil)
	actorDone := make(chan error, 1)
	go func() { _, err := p.Actor(context.Background(), "test:U-alice"); actorDone <- err }()
	<-hold.answered
	w := &replies{}
	m := bot.Message{Platform: "test", Sender: bot.User{ID: "U-alice"}, Conversation: bot.Conversation{ChannelID: "D1", Direct: true}}
	// unlink's revocations go through the same transport: let them pass.
	unlinkDone := make(chan error, 1)
	go func() { unlinkDone <- p.unlink(context.Background(), w, &commands.Request{Message: m, Command: "unlink"}) }()
	select {
	case err := <-unlinkDone:
		if err != nil {
			t.Fatalf("unlink: %v", err)
		}
	case <-time.After(5 * time.Second):
		close(hold.release)
		t.Fatal("unlink waited for the refresh (it should: that is the fix); not the bug")
	}
	close(hold.release)
	<-actorDone
	w.mu.Lock()
	t.Logf("unlink answered: %q", w.got[len(w.got)-1].Title)
	w.mu.Unlock()
	if id, err := st.GetIdentity(context.Background(), "test:U-alice"); err == nil {
		live := 0
		for _, tok := range fake.OAuthTokens() {
			if !tok.Revoked {
				live++
			}
		}
		t.Fatalf("after unlink the link of %s is stored again (%d live OAuth tokens in GitLab): the bot still acts as the user", id.GitLabUsername, live)
	}
}
