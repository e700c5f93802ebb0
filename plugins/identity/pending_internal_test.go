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
func TestHandOverBeforeServeAndAfterStop(t *testing.T) {
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
	const identity = "test:U-alice"
	dm := bot.Conversation{ChannelID: "D-alice", Direct: true}
	link := pending{identity: identity, platform: "test", to: dm, da: da, log: bottest.Quiet()}
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
