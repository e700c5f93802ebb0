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
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
	"github.com/chatops-dev/chatops/store"
	"github.com/chatops-dev/chatops/store/seal"
	"github.com/chatops-dev/chatops/store/sqlite"
)

// staleOnce hands out one stale copy of a link on its first read, as a
// replica that read it just before another replica refreshed it.
type staleOnce struct {
	store.Store
	stale *store.Identity
}

func (s *staleOnce) GetIdentity(ctx context.Context, chat string) (*store.Identity, error) {
	if st := s.stale; st != nil {
		s.stale = nil
		return st, nil
	}
	return s.Store.GetIdentity(ctx, chat)
}

// TestRefreshRaceKeepsTheLink: when another replica refreshed first (so
// GitLab's rotation spent the refresh token this one holds), the link is
// kept and the other replica's new token used, not deleted.
func TestRefreshRaceKeepsTheLink(t *testing.T) {
	fake := gitlabtest.New(gitlabtest.Options{})
	t.Cleanup(fake.Close)
	fake.AddUser("alice", gitlabtest.Developer)
	fake.SetTokenLifetime(time.Minute)
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, _ := seal.New(bytes.Repeat([]byte{1}, seal.KeySize))
	opts := Options{GitLabURL: fake.URL(), ClientID: "app", Store: st, Sealer: sealer, Logger: bottest.Quiet()}
	a, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	access, refresh := fake.IssueToken("alice")
	ctx := context.Background()
	if err := a.save(ctx, "test:U-alice", 1, "alice", &oauth2.Token{AccessToken: access, RefreshToken: refresh, Expiry: time.Now().Add(time.Minute)}, time.Now()); err != nil {
		t.Fatal(err)
	}
	stale, _ := st.GetIdentity(ctx, "test:U-alice")
	// Replica a refreshes.
	if _, err := a.Actor(ctx, "test:U-alice"); err != nil {
		t.Fatal(err)
	}
	// Replica b read the link before that, and refreshes with the spent token.
	opts.Store = &staleOnce{Store: st, stale: stale}
	b, _ := New(opts)
	got, err := b.refresh(ctx, "test:U-alice")
	if err != nil {
		t.Fatalf("refresh after another replica's: %v", err)
	}
	if bytes.Equal(got.RefreshToken, stale.RefreshToken) {
		t.Error("the spent refresh token is still the link's")
	}
	if _, err := st.GetIdentity(ctx, "test:U-alice"); err != nil {
		t.Fatalf("the link was deleted: %v", err)
	}
}

// refreshPlugin returns the plugin with alice linked by a token that
// expires within RefreshBefore (every Actor refreshes), its GitLab, and
// its store (wrap, if set, wraps the store the plugin uses).
func refreshPlugin(t *testing.T, tr http.RoundTripper, wrap func(store.Store) store.Store) (*Plugin, *gitlabtest.Server, store.Store) {
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

// TestUnlinkDuringRefreshLeavesNoLink: `unlink` sent while a command's
// actor is being refreshed (GitLab already issued the new pair) waits for
// the refresh, then revokes the pair it saved and deletes the link: the
// refresh does not bring the link back with live tokens after the user
// was told they were revoked.
func TestUnlinkDuringRefreshLeavesNoLink(t *testing.T) {
	hold := &holdToken{answered: make(chan struct{}), release: make(chan struct{})}
	p, fake, st := refreshPlugin(t, hold, nil)
	actorDone := make(chan error, 1)
	go func() { _, err := p.Actor(context.Background(), "test:U-alice"); actorDone <- err }()
	<-hold.answered
	w := &replies{}
	m := bot.Message{Platform: "test", Sender: bot.User{ID: "U-alice"}, Conversation: bot.Conversation{ChannelID: "D1", Direct: true}}
	unlinkDone := make(chan error, 1)
	go func() {
		unlinkDone <- p.unlink(context.Background(), w, &commands.Request{Message: m, Command: "unlink"})
	}()
	time.Sleep(200 * time.Millisecond) // time for an unlink that does not wait to overtake the refresh
	close(hold.release)
	if err := <-actorDone; err != nil {
		t.Errorf("Actor: %v", err)
	}
	if err := <-unlinkDone; err != nil {
		t.Fatalf("unlink: %v", err)
	}
	w.mu.Lock()
	if last := w.got[len(w.got)-1]; last.Status != bot.StatusSuccess {
		t.Errorf("unlink answered [%s] %q: %q", last.Status, last.Title, last.Text)
	}
	w.mu.Unlock()
	noLink(t, fake, st)
}

// TestUnlinkOnAnotherReplicaDuringRefreshLeavesNoLink: `unlink` handled by
// another replica (which does not share this one's lock) while this one
// refreshes: the refresh finds the link gone when it saves, does not store
// it again, revokes the pair GitLab just issued, and acts unlinked.
func TestUnlinkOnAnotherReplicaDuringRefreshLeavesNoLink(t *testing.T) {
	hold := &holdToken{answered: make(chan struct{}), release: make(chan struct{})}
	a, fake, st := refreshPlugin(t, hold, nil)
	b, err := New(Options{GitLabURL: fake.URL(), ClientID: "app", Store: st, Sealer: a.opts.Sealer, Logger: bottest.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		actor gitlab.Actor
		err   error
	}
	actorDone := make(chan result, 1)
	go func() { act, err := a.Actor(context.Background(), "test:U-alice"); actorDone <- result{act, err} }()
	<-hold.answered
	w := &replies{}
	m := bot.Message{Platform: "test", Sender: bot.User{ID: "U-alice"}, Conversation: bot.Conversation{ChannelID: "D1", Direct: true}}
	if err := b.unlink(context.Background(), w, &commands.Request{Message: m, Command: "unlink"}); err != nil {
		t.Fatalf("unlink: %v", err)
	}
	close(hold.release)
	r := <-actorDone
	if r.err != nil || r.actor.Token != "" {
		t.Errorf("Actor after unlink = %+v, %v; want the unlinked actor", r.actor, r.err)
	}
	noLink(t, fake, st)
}

// noLink fails t if alice's link is stored or any OAuth token is live.
func noLink(t *testing.T, fake *gitlabtest.Server, st store.Store) {
	t.Helper()
	if id, err := st.GetIdentity(context.Background(), "test:U-alice"); err == nil {
		t.Errorf("after unlink the link of %s is stored again: the bot still acts as the user", id.GitLabUsername)
	}
	for _, tok := range fake.OAuthTokens() {
		if !tok.Revoked {
			t.Errorf("after unlink a token of %s is live in GitLab", tok.Username)
		}
	}
}

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

// TestRefreshCutAfterRotationKeepsTheLink: a command whose context ends
// while its refresh is under way (GitLab already rotated the pair) still
// has the new pair saved: the old refresh token is spent, so a pair left
// unsaved would have the next command find the link broken and delete it.
func TestRefreshCutAfterRotationKeepsTheLink(t *testing.T) {
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

// failSaveOnce fails the first save of a link (SaveIdentity or
// SaveIdentityIf) once armed, as a store's bad moment.
type failSaveOnce struct {
	store.Store
	mu     sync.Mutex
	armed  bool
	failed bool
}

// fail reports whether this save is the one to fail.
func (f *failSaveOnce) fail() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	first := f.armed && !f.failed
	if f.armed {
		f.failed = true
	}
	return first
}

func (f *failSaveOnce) SaveIdentity(ctx context.Context, id *store.Identity) error {
	if f.fail() {
		return errors.New("database is locked")
	}
	return f.Store.SaveIdentity(ctx, id)
}

func (f *failSaveOnce) SaveIdentityIf(ctx context.Context, id *store.Identity, refresh []byte) (bool, error) {
	if f.fail() {
		return false, errors.New("database is locked")
	}
	return f.Store.SaveIdentityIf(ctx, id, refresh)
}

// TestRefreshSaveFailureIsRetried: one failed write of the rotated pair
// (a transient store error) is retried: the old refresh token is spent in
// GitLab, so a pair that only lived in memory would lose the link.
func TestRefreshSaveFailureIsRetried(t *testing.T) {
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

func (s *slowDelete) DeleteIdentityIf(ctx context.Context, chat string, refresh []byte) (bool, error) {
	s.before()
	return s.Store.DeleteIdentityIf(ctx, chat, refresh)
}

// notifySave closes saved on the first save of a link.
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

func (s *notifySave) SaveIdentityIf(ctx context.Context, id *store.Identity, refresh []byte) (bool, error) {
	ok, err := s.Store.SaveIdentityIf(ctx, id, refresh)
	if s.saved != nil {
		s.once.Do(func() { close(s.saved) })
	}
	return ok, err
}

// TestTwoReplicasRefreshingAtOnceKeepTheLink: replicas a and b refresh
// one link at the same time. GitLab rotates for a; b's refresh is refused
// (invalid_grant) while a has not saved its new pair yet, for longer than
// b waits for it. b's delete then lands after a's save: it must not
// delete the link GitLab still honours, and b uses a's pair.
func TestTwoReplicasRefreshingAtOnceKeepTheLink(t *testing.T) {
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
