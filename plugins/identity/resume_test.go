package identity_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/store"
)

// Pending links are stored state: these tests run a second plugin on the
// first one's store and fake GitLab, as a restarted process or another
// replica.

// eventually waits for cond, polling, for at most 20s.
func (e *env) eventually(what string, cond func() bool) {
	e.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// pending returns alice's stored pending link, or nil.
func (e *env) pending() *store.PendingLink {
	e.t.Helper()
	l, err := e.st.GetPendingLink(context.Background(), "test:U-alice")
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

// titles lists the titles of the messages in channel.
func (e *env) titles(channel string) []string {
	var out []string
	for _, r := range e.chat.Messages(channel) {
		out = append(out, r.Title)
	}
	return out
}

// startLink sends alice's link and waits until the bot polls GitLab.
func (e *env) startLink() (code string) {
	e.t.Helper()
	e.dm("alice", "link")
	e.wait(dmOf("alice"), "Link your GitLab account")
	polls := e.gl.PendingAnswers()
	e.eventually("a poll of GitLab", func() bool { return e.gl.PendingAnswers() > polls })
	return e.gl.LastUserCode()
}

// TestLinkResumedAfterRestart: a link pending when the bot stops is
// finished by the next process on the same store once the user approves,
// and the user is told once, in the DM where the link was posted.
func TestLinkResumedAfterRestart(t *testing.T) {
	t.Parallel()
	first := newEnv(t, gitlab.ActAsBot, true)
	code := first.startLink()
	if !first.stop() {
		t.Fatal("the bot did not stop")
	}
	if first.pending() == nil {
		t.Fatal("the stopped bot left no stored pending link")
	}
	next := newEnvWith(t, envOpts{actAs: gitlab.ActAsBot, linking: true, share: first})
	if err := next.gl.ApproveDevice(code, "alice"); err != nil {
		t.Fatal(err)
	}
	next.wait(dmOf("alice"), "Linked to GitLab user alice")
	if got := first.titles(dmOf("alice")); len(got) != 1 {
		t.Errorf("the first process posted %q, want the verification link only", got)
	}
	if got := next.titles(dmOf("alice")); len(got) != 1 {
		t.Errorf("the next process posted %q, want the outcome once", got)
	}
	// Deleted once told (after, so a crash in between loses nothing).
	next.eventually("the finished link deleted", func() bool { return next.pending() == nil })
	if r := next.say("alice", "C-ops", "whoami"); strings.Contains(r.Text, "[identities]") {
		t.Errorf("whoami after the resumed link = %s: %s", r.Title, r.Text)
	}
	if !strings.Contains(next.logs.String(), "resuming a pending link") {
		t.Error("the resumed link was not logged")
	}
}

// failAnswer is a store whose AnswerPendingLink fails: a process that
// dies after recording a link and before storing its answer (the claim
// that makes one process tell the user).
type failAnswer struct{ store.Store }

func (failAnswer) AnswerPendingLink(context.Context, string, []byte, string, time.Duration) (bool, error) {
	return false, errors.New("the process died here")
}

// TestLinkRecordedButNotAnsweredToldOnce: the first process records the
// link but not the end of the flow; the next one finds GitLab's device
// code used (invalid_grant) and the link recorded since the flow began,
// and tells the user, once, that it is linked.
func TestLinkRecordedButNotAnsweredToldOnce(t *testing.T) {
	t.Parallel()
	first := newEnvWith(t, envOpts{actAs: gitlab.ActAsBot, linking: true, wrap: func(s store.Store) store.Store { return failAnswer{s} }})
	code := first.startLink()
	if err := first.gl.ApproveDevice(code, "alice"); err != nil {
		t.Fatal(err)
	}
	first.eventually("the link recorded", func() bool {
		_, err := first.st.GetIdentity(context.Background(), "test:U-alice")
		return err == nil
	})
	if !first.stop() {
		t.Fatal("the bot did not stop")
	}
	if got := first.titles(dmOf("alice")); len(got) != 1 {
		t.Fatalf("the first process posted %q, want the verification link only: it never stored the answer", got)
	}
	next := newEnvWith(t, envOpts{actAs: gitlab.ActAsBot, linking: true, share: first})
	next.wait(dmOf("alice"), "Linked to GitLab user alice")
	next.eventually("the pending link deleted", func() bool { return next.pending() == nil })
	if got := next.titles(dmOf("alice")); len(got) != 1 {
		t.Errorf("the next process posted %q, want the outcome once", got)
	}
}

// dieAfterAnswer is a store on which the process dies right after it
// stored a link's answer and before it told the user: the answer is
// stored, and from then on nothing this process asks of the store for its
// pending links happens (it delivers, deletes, renews and releases
// nothing), as if it were killed.
type dieAfterAnswer struct {
	store.Store
	dead *atomic.Bool
}

var errDied = errors.New("the process died here")

func (s dieAfterAnswer) AnswerPendingLink(ctx context.Context, id string, answer []byte, owner string, lease time.Duration) (bool, error) {
	if s.dead.Load() {
		return false, errDied
	}
	if _, err := s.Store.AnswerPendingLink(ctx, id, answer, owner, lease); err != nil {
		return false, err
	}
	s.dead.Store(true)
	return false, errDied
}

// A call in flight when the process dies returns nothing either: a dead
// process acts on no answer (checked after the call, too).
func (s dieAfterAnswer) AcquirePendingLinks(ctx context.Context, owner string, lease time.Duration, limit int) ([]*store.PendingLink, error) {
	if s.dead.Load() {
		return nil, errDied
	}
	links, err := s.Store.AcquirePendingLinks(ctx, owner, lease, limit)
	if s.dead.Load() {
		return nil, errDied
	}
	return links, err
}

func (s dieAfterAnswer) ExpiredPendingLinks(ctx context.Context) ([]*store.PendingLink, error) {
	if s.dead.Load() {
		return nil, errDied
	}
	links, err := s.Store.ExpiredPendingLinks(ctx)
	if s.dead.Load() {
		return nil, errDied
	}
	return links, err
}

func (s dieAfterAnswer) DeletePendingLink(ctx context.Context, id string) (bool, error) {
	if s.dead.Load() {
		return false, errDied
	}
	return s.Store.DeletePendingLink(ctx, id)
}

func (s dieAfterAnswer) ReleasePendingLinks(ctx context.Context, owner string) error {
	if s.dead.Load() {
		return nil
	}
	return s.Store.ReleasePendingLinks(ctx, owner)
}

// TestLinkAnsweredButNotToldToldOnceByTheNext: the first process finishes
// a link (the user approved) and stores its answer, then dies before
// telling the user; the next process, once the first one's lease lapses,
// delivers the stored answer, once, and deletes the link. The answer owed
// is not lost with the process that owed it.
func TestLinkAnsweredButNotToldToldOnceByTheNext(t *testing.T) {
	t.Parallel()
	const lease = 300 * time.Millisecond
	var dead atomic.Bool
	first := newEnvWith(t, envOpts{actAs: gitlab.ActAsBot, linking: true, owner: "replica-a", lease: lease,
		wrap: func(s store.Store) store.Store { return dieAfterAnswer{s, &dead} }})
	code := first.startLink()
	if err := first.gl.ApproveDevice(code, "alice"); err != nil {
		t.Fatal(err)
	}
	first.eventually("the answer stored", func() bool { l := first.pending(); return l != nil && l.Answer != nil })
	if !dead.Load() {
		t.Fatal("the answer was stored but not by the first process")
	}
	if !first.stop() {
		t.Fatal("the bot did not stop")
	}
	if got := first.titles(dmOf("alice")); len(got) != 1 {
		t.Fatalf("the first process posted %q, want the verification link only: it died before telling", got)
	}
	next := newEnvWith(t, envOpts{actAs: gitlab.ActAsBot, linking: true, owner: "replica-b", lease: lease, share: first})
	next.wait(dmOf("alice"), "Linked to GitLab user alice")
	next.eventually("the pending link deleted", func() bool { return next.pending() == nil })
	if got := next.titles(dmOf("alice")); len(got) != 1 {
		t.Errorf("the next process posted %q, want the stored answer once", got)
	}
	if !strings.Contains(next.logs.String(), "delivering the stored answer of a pending link") {
		t.Error("the delivery of the stored answer was not logged")
	}
	// The link stays recorded: the next process delivered, it did not
	// poll GitLab again.
	if _, err := next.st.GetIdentity(context.Background(), "test:U-alice"); err != nil {
		t.Errorf("alice's link: %v", err)
	}
}

// noRelease is a store whose ReleasePendingLinks does nothing: a process
// killed without a clean stop, whose leases must lapse.
type noRelease struct{ store.Store }

func (noRelease) ReleasePendingLinks(context.Context, string) error { return nil }

// TestLinkOneOwnerAcrossInstances: two plugins on one store poll a link
// with one owner only (the other never resumes it while the owner renews
// its lease), and the other takes it over once the owner dies and its
// lease lapses, then answers once.
func TestLinkOneOwnerAcrossInstances(t *testing.T) {
	t.Parallel()
	const lease = 300 * time.Millisecond
	a := newEnvWith(t, envOpts{actAs: gitlab.ActAsBot, linking: true, owner: "replica-a", lease: lease,
		wrap: func(s store.Store) store.Store { return noRelease{s} }})
	b := newEnvWith(t, envOpts{actAs: gitlab.ActAsBot, linking: true, owner: "replica-b", lease: lease, share: a})
	code := a.startLink()
	// Polls answer once a second: by the third, b has tried to lease the
	// link about thirty times.
	polls := a.gl.PendingAnswers()
	a.eventually("two more polls", func() bool { return a.gl.PendingAnswers() >= polls+2 })
	if l := a.pending(); l == nil || l.Owner != "replica-a" {
		t.Fatalf("while a renews, the link is %+v, want it owned by replica-a", l)
	}
	if strings.Contains(b.logs.String(), "resuming a pending link") {
		t.Fatal("b polls a link a holds")
	}

	if !a.stop() {
		t.Fatal("a did not stop")
	}
	b.eventually("b taking the link over", func() bool { l := b.pending(); return l != nil && l.Owner == "replica-b" })
	if err := b.gl.ApproveDevice(code, "alice"); err != nil {
		t.Fatal(err)
	}
	b.wait(dmOf("alice"), "Linked to GitLab user alice")
	if got := a.titles(dmOf("alice")); len(got) != 1 {
		t.Errorf("a posted %q, want the verification link only", got)
	}
	if got := b.titles(dmOf("alice")); len(got) != 1 {
		t.Errorf("b posted %q, want the outcome once", got)
	}
}

// TestLinkRefusedWhileStoredElsewhere: a second `link` by the same
// identity, received by another instance on the same store, is refused
// without a second flow in GitLab.
func TestLinkRefusedWhileStoredElsewhere(t *testing.T) {
	t.Parallel()
	a := newEnv(t, gitlab.ActAsBot, true)
	b := newEnvWith(t, envOpts{actAs: gitlab.ActAsBot, linking: true, share: a})
	secondLinkRefused(t, a, b)
}

// TestLinkDeviceCodeSealed: the stored pending link holds the device code
// sealed: neither the row nor the database files show it.
func TestLinkDeviceCodeSealed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, gitlab.ActAsBot, true)
	e.dm("alice", "link")
	e.wait(dmOf("alice"), "Link your GitLab account")
	l := e.pending()
	if l == nil {
		t.Fatal("no stored pending link")
	}
	// The fake's device codes are "device-<n>".
	if len(l.DeviceCode) == 0 || bytes.Contains(l.DeviceCode, []byte("device-")) {
		t.Errorf("the stored device code is %q, want it sealed", l.DeviceCode)
	}
	files, _ := filepath.Glob(e.dbPath + "*")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("device-")) {
			t.Errorf("%s holds a device code in plaintext", filepath.Base(f))
		}
	}
}

// TestLinkBoundedPending: beyond MaxPending links polled at once, link is
// refused with a clear message and starts nothing.
func TestLinkBoundedPending(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, envOpts{actAs: gitlab.ActAsBot, linking: true, maxPending: 1})
	e.dm("alice", "link")
	e.wait(dmOf("alice"), "Link your GitLab account")
	code := e.gl.LastUserCode()
	e.dm("olga", "link")
	e.wait(dmOf("olga"), "Too many link requests are waiting")
	if e.gl.LastUserCode() != code {
		t.Error("a second flow was started beyond the bound")
	}
}
