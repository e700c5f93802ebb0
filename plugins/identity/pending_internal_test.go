package identity

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/bottest"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
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

// TestHandOverBeforeServeAndAfterStop: a link handed over before the
// service runs (the bot starts services and adapters together) is waited
// for once it does, and answered where it was posted; after the service
// stopped, nothing is taken.
// newLinking returns a linking plugin over a fake GitLab with alice, and
// a device flow started for her, ready to hand over.
func newLinking(t *testing.T) (*Plugin, *gitlabtest.Server, pending) {
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
	dm := bot.Conversation{ChannelID: "D-alice", Direct: true}
	return p, fake, pending{identity: "test:U-alice", platform: "test", to: dm, da: da, log: bottest.Quiet()}
}

func TestHandOverBeforeServeAndAfterStop(t *testing.T) {
	p, fake, link := newLinking(t)
	identity, dm, da := link.identity, link.to, link.da
	if !p.begin(identity) || !p.await(link) {
		t.Fatal("the link was not taken before the service ran")
	}

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
	if !p.begin(identity) {
		t.Error("the identity is still marked as linking")
	}
	p.end(identity)

	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	if p.await(link) {
		t.Error("a link was taken after the service stopped")
	}
}

// TestDrainWaitsForPendingLinks: when the adapters stopped by themselves
// (the terminal at end of input), Drain returns only once a pending
// link's outcome has been posted.
func TestDrainWaitsForPendingLinks(t *testing.T) {
	p, fake, link := newLinking(t)
	out := make(recorder, 4)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- p.Serve(ctx, out) }()
	t.Cleanup(func() { cancel(); <-served })
	if !p.begin(link.identity) || !p.await(link) {
		t.Fatal("the link was not taken")
	}
	drained := make(chan struct{})
	go func() {
		dctx, stop := context.WithTimeout(context.Background(), 20*time.Second)
		defer stop()
		p.Drain(dctx)
		close(drained)
	}()
	if err := fake.ApproveDevice(link.da.UserCode, "alice"); err != nil {
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
