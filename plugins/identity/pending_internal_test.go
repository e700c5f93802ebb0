package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/bottest"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
	"github.com/chatops-dev/chatops/store"
	"github.com/chatops-dev/chatops/store/seal"
	"github.com/chatops-dev/chatops/store/sqlite"
)

// sentTo is one reply a recorder was asked to post.
type sentTo struct {
	platform string
	to       bot.Conversation
	reply    bot.Reply
}

// recorder is a bot.Messenger that records what it is asked to post.
type recorder chan sentTo

func (r recorder) Send(_ context.Context, platform string, to bot.Conversation, reply bot.Reply) (bot.Sent, error) {
	r <- sentTo{platform, to, reply}
	return bot.Sent{Conversation: to, ID: "1"}, nil
}

func (r recorder) Edit(ctx context.Context, platform string, ref bot.Sent, reply bot.Reply) (bot.Sent, error) {
	return r.Send(ctx, platform, ref.Conversation, reply)
}

// newLinking returns a linking plugin over a fake GitLab with alice, and
// a device flow started for her, stored as link stores it, ready to hand
// over.
func newLinking(t *testing.T) (*Plugin, *gitlabtest.Server, *store.PendingLink, *oauth2.DeviceAuthResponse) {
	t.Helper()
	fake := gitlabtest.New(gitlabtest.Options{})
	t.Cleanup(fake.Close)
	fake.AddUser("alice", gitlabtest.Developer)
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, _ := seal.New(bytes.Repeat([]byte{1}, seal.KeySize))
	p, err := New(Options{GitLabURL: fake.URL(), ClientID: "app", Store: st, Sealer: sealer, Logger: bottest.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	da, err := p.oauth.DeviceAuth(p.oauthContext(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	m := bot.Message{Platform: "test", Sender: bot.User{ID: "U-alice"}, Conversation: bot.Conversation{ChannelID: "D-alice", Direct: true}}
	l, err := p.newPending(m, "flow-1", da)
	if err != nil {
		t.Fatal(err)
	}
	if !p.reserve(l.ID) {
		t.Fatal("no room for one link")
	}
	if err := st.CreatePendingLink(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	return p, fake, l, da
}

// TestHandOverBeforeServeAndAfterStop: a link handed over before the
// service runs (the bot starts services and adapters together) is waited
// for once it does, and answered where it was posted; after the service
// stopped, a link handed over is not polled but stays stored, for the
// next process.
func TestHandOverBeforeServeAndAfterStop(t *testing.T) {
	p, fake, link, da := newLinking(t)
	dm := bot.Conversation{ChannelID: link.ChannelID, Direct: true}
	p.handOver(link)

	out := make(recorder, 4)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- p.Serve(ctx, out) }()
	if err := fake.ApproveDevice(da.UserCode, "alice"); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-out:
		if s.platform != "test" || s.to != dm || s.reply.Title != "Linked to GitLab user alice" {
			t.Errorf("posted %q on %s in %+v, want the link's outcome in its DM", s.reply.Title, s.platform, s.to)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no outcome for a link handed over before Serve")
	}
	// Deleted once told (after, so a crash in between loses nothing).
	waitGone(t, p, link)

	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	if err := p.opts.Store.DeleteIdentity(context.Background(), link.Identity); err != nil {
		t.Fatal(err)
	}
	late := *link
	late.ID, late.ExpiresAt = "flow-2", time.Now().Add(time.Hour)
	if err := p.opts.Store.CreatePendingLink(context.Background(), &late); err != nil {
		t.Fatal(err)
	}
	p.handOver(&late)
	if n := len(p.waits.handed) + len(p.waits.polling); n != 0 {
		t.Errorf("after the service stopped, %d links were taken", n)
	}
	if _, err := p.opts.Store.GetPendingLink(context.Background(), link.Identity); err != nil {
		t.Errorf("a link handed over after the stop is not left stored: %v", err)
	}
}

// TestDrainWaitsForPendingLinks: when the adapters stopped by themselves
// (the terminal at end of input), Drain returns only once a pending
// link's outcome has been posted.
func TestDrainWaitsForPendingLinks(t *testing.T) {
	p, fake, link, da := newLinking(t)
	out := make(recorder, 4)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- p.Serve(ctx, out) }()
	t.Cleanup(func() { cancel(); <-served })
	p.handOver(link)
	drained := make(chan struct{})
	go func() {
		dctx, stop := context.WithTimeout(context.Background(), 20*time.Second)
		defer stop()
		p.Drain(dctx)
		close(drained)
	}()
	if err := fake.ApproveDevice(da.UserCode, "alice"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-drained:
	case <-time.After(30 * time.Second):
		t.Fatal("Drain did not return")
	}
	select {
	case s := <-out:
		if s.reply.Title != "Linked to GitLab user alice" {
			t.Errorf("posted %q", s.reply.Title)
		}
	default:
		t.Fatal("Drain returned before the link's outcome was posted")
	}
}

// TestExpiredLinksNotResumed: a stored link whose device code expired
// while no process polled it is deleted by the service's first round and
// never polled, even though GitLab would still grant it; its user is told
// it expired, once.
func TestExpiredLinksNotResumed(t *testing.T) {
	p, fake, live, da := newLinking(t)
	p.handOver(live)
	ctx := context.Background()
	old, oldDA := storeExpiredForBob(t, p, "flow-old", "")
	if err := fake.ApproveDevice(oldDA.UserCode, "alice"); err != nil {
		t.Fatal(err)
	}
	out := serve(t, p)
	// alice's link, polled from the same first round, is the signal that
	// the round ran.
	if err := fake.ApproveDevice(da.UserCode, "alice"); err != nil {
		t.Fatal(err)
	}
	posted := map[string][]string{}
	for len(posted["D-alice"]) == 0 || len(posted["D-bob"]) == 0 {
		select {
		case s := <-out:
			posted[s.to.ChannelID] = append(posted[s.to.ChannelID], s.reply.Title)
		case <-time.After(20 * time.Second):
			t.Fatalf("outcomes posted: %v; want one for alice's live link and one for bob's expired one", posted)
		}
	}
	if got := posted["D-bob"]; len(got) != 1 || got[0] != "The link expired" {
		t.Errorf("bob was told %q, want \"The link expired\" once", got)
	}
	waitGone(t, p, old)
	if _, err := p.opts.Store.GetIdentity(ctx, "test:U-bob"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the expired link was completed: %v", err)
	}
	select {
	case s := <-out:
		t.Errorf("posted %q in %s: one answer each was owed", s.reply.Title, s.to.ChannelID)
	case <-time.After(200 * time.Millisecond):
	}
}

// gate is a bot.Messenger whose Send says it was entered and then waits
// for release, or fails with its context's end.
type gate struct {
	entered chan struct{}
	release chan struct{}
	sent    chan sentTo
}

func (g gate) Send(ctx context.Context, platform string, to bot.Conversation, reply bot.Reply) (bot.Sent, error) {
	g.entered <- struct{}{}
	select {
	case <-g.release:
	case <-ctx.Done():
		return bot.Sent{}, ctx.Err()
	}
	g.sent <- sentTo{platform, to, reply}
	return bot.Sent{Conversation: to, ID: "1"}, nil
}

func (g gate) Edit(ctx context.Context, platform string, ref bot.Sent, reply bot.Reply) (bot.Sent, error) {
	return g.Send(ctx, platform, ref.Conversation, reply)
}

// TestLeaseRoundDoesNotCutAnAnswerOwed: a poll that deleted its finished
// link owes its user the answer; a lease round that runs while it is
// being posted (and so no longer finds the link) must not cancel it, or
// the answer is lost for good (nobody else will tell).
func TestLeaseRoundDoesNotCutAnAnswerOwed(t *testing.T) {
	for _, tt := range []struct {
		name   string
		decide func(*gitlabtest.Server, string) error
		want   string
	}{
		{"declined", (*gitlabtest.Server).DenyDevice, "Link declined"},
		{"approved", func(s *gitlabtest.Server, code string) error { return s.ApproveDevice(code, "alice") }, "Linked to GitLab user alice"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, fake, link, da := newLinking(t)
			g := gate{entered: make(chan struct{}, 1), release: make(chan struct{}), sent: make(chan sentTo, 2)}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var polls sync.WaitGroup
			p.handOver(link)
			p.leaseRound(ctx, g, &polls)
			if err := tt.decide(fake, da.UserCode); err != nil {
				t.Fatal(err)
			}
			select {
			case <-g.entered:
			case <-time.After(20 * time.Second):
				t.Fatal("the outcome was never posted")
			}
			// The answer is stored: this round holds the link, answered,
			// or, once deleted, no longer holds it; either way the answer
			// being posted is not cut.
			p.leaseRound(ctx, g, &polls)
			close(g.release)
			polls.Wait()
			select {
			case s := <-g.sent:
				if s.reply.Title != tt.want {
					t.Errorf("told %q, want %q", s.reply.Title, tt.want)
				}
			default:
				t.Errorf("the user was never told %q: the lease round cut the answer after the link was deleted", tt.want)
			}
		})
	}
}

// TestExpiredLinkRecordedByAPausedOwner: the link's owner recorded it but
// paused past its lease and the expiry before deleting it; the process
// that deletes the expired link tells the user they are linked, not that
// the link expired.
func TestExpiredLinkRecordedByAPausedOwner(t *testing.T) {
	p, _, _, _ := newLinking(t)
	storeExpiredForBob(t, p, "flow-paused", "paused")
	if err := p.save(context.Background(), "test:U-bob", 7, "bob", &oauth2.Token{AccessToken: "a", RefreshToken: "r"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	bobToldLinked(t, serve(t, p))
}

// bobToldLinked waits for the next message out records to tell bob, in
// his DM, that he is linked.
func bobToldLinked(t *testing.T, out recorder) {
	t.Helper()
	select {
	case s := <-out:
		if s.to.ChannelID != "D-bob" || s.reply.Title != "Linked to GitLab user bob" {
			t.Fatalf("posted %q in %s, want bob told he is linked", s.reply.Title, s.to.ChannelID)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("bob was told nothing")
	}
}

// TestExpiredLinkWithAnAnswerOwedDelivered: a process stored the answer
// of bob's link (he approved) and died before telling him; by the time
// another process runs, the link expired. The stored answer is delivered,
// once, and the link deleted: an answer owed is not turned into "The link
// expired", nor dropped.
func TestExpiredLinkWithAnAnswerOwedDelivered(t *testing.T) {
	p, _, _, _ := newLinking(t)
	ctx := context.Background()
	old, _ := storeExpiredForBob(t, p, "flow-answered", "dead")
	answer, err := json.Marshal(linked("bob"))
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := p.opts.Store.AnswerPendingLink(ctx, old.ID, answer, "dead", time.Millisecond); err != nil || !ok {
		t.Fatalf("storing the dead process's answer: %v, %v", ok, err)
	}
	time.Sleep(5 * time.Millisecond) // its lease lapses: it died
	out := serve(t, p)
	bobToldLinked(t, out)
	waitGone(t, p, old)
	select {
	case s := <-out:
		t.Errorf("posted %q in %s: one answer was owed", s.reply.Title, s.to.ChannelID)
	case <-time.After(200 * time.Millisecond):
	}
}

// storeExpiredForBob stores, as another process left it, a pending link
// of bob's whose device code expired, owned by owner (lease lapsed), and
// returns it with its device flow.
func storeExpiredForBob(t *testing.T, p *Plugin, id, owner string) (*store.PendingLink, *oauth2.DeviceAuthResponse) {
	t.Helper()
	ctx := context.Background()
	da, err := p.oauth.DeviceAuth(p.oauthContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	bob := bot.Message{Platform: "test", Sender: bot.User{ID: "U-bob"}, Conversation: bot.Conversation{ChannelID: "D-bob", Direct: true}}
	l, err := p.newPending(bob, id, da)
	if err != nil {
		t.Fatal(err)
	}
	l.Owner, l.LeaseUntil, l.ExpiresAt = owner, time.Time{}, time.Now().Add(-time.Second)
	if owner != "" {
		l.LeaseUntil = time.Now().Add(-time.Second)
	}
	if err := p.opts.Store.CreatePendingLink(ctx, l); err != nil {
		t.Fatal(err)
	}
	return l, da
}

// waitGone waits until the pending link l is deleted: its answer is
// delivered first, so it is deleted right after the user is told.
func waitGone(t *testing.T, p *Plugin, l *store.PendingLink) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		// An answered link is read back, expired or not, until deleted.
		now, err := p.opts.Store.GetPendingLink(context.Background(), l.Identity)
		switch {
		case errors.Is(err, store.ErrNotFound) || (err == nil && now.ID != l.ID):
			return
		case err != nil:
			t.Fatal(err)
		case time.Now().After(deadline):
			t.Fatalf("pending link %s still stored after its user was told (answer %q)", l.ID, now.Answer)
		}
	}
}

// serve runs p's service until the test ends and returns what it posts.
func serve(t *testing.T, p *Plugin) recorder {
	t.Helper()
	out := make(recorder, 4)
	sctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- p.Serve(sctx, out) }()
	t.Cleanup(func() { cancel(); <-served })
	return out
}
