// Package mmlive tests the Mattermost adapter against a real Mattermost
// server. Run it with `bash scripts/mattermost-e2e.sh`, which builds and
// starts the server and sets the CHATOPS_MM_* variables; without them the
// tests skip.
package mmlive

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/chatops-dev/chatops/adapters/internal/adaptertest"
	"github.com/chatops-dev/chatops/adapters/mattermost"
	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/commands"
)

type live struct {
	url, botToken, botID, userID, channelID, ctl string
	user                                         *model.Client4
	ad                                           *mattermost.Adapter
	// gate sits between the adapter and the server (see proxy_test.go).
	gate *gate
	// release lets a pending "hold" command finish.
	release chan struct{}
}

func setup(t *testing.T) *live {
	t.Helper()
	return setupWith(t, nil)
}

// setupWith is setup with the adapter's configuration changed by tweak.
func setupWith(t *testing.T, tweak func(*mattermost.Config)) *live {
	t.Helper()
	l := &live{url: os.Getenv("CHATOPS_MM_URL"), botToken: os.Getenv("CHATOPS_MM_BOT_TOKEN"), botID: os.Getenv("CHATOPS_MM_BOT_ID"),
		userID: os.Getenv("CHATOPS_MM_USER_ID"), channelID: os.Getenv("CHATOPS_MM_CHANNEL_ID"), ctl: os.Getenv("CHATOPS_MM_CTL")}
	if l.url == "" {
		t.Skip("needs a real Mattermost server: run bash scripts/mattermost-e2e.sh")
	}
	l.user = model.NewAPIv4Client(l.url)
	l.user.SetToken(os.Getenv("CHATOPS_MM_USER_TOKEN"))

	ctx, cancel := context.WithCancel(context.Background())
	_, plugin := adaptertest.DemoRun(t, "mattermost:"+l.userID)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	rt := adaptertest.Router()
	l.release = make(chan struct{})
	// hold replies, waits for the test, then edits its reply: an edit
	// that spans a server restart.
	rt.MustHandle(commands.Command{Name: "hold", Summary: "Reply, wait for the test, edit", Handler: commands.HandlerFunc(
		func(ctx context.Context, w bot.Responder, r *commands.Request) error {
			sent, err := w.Reply(ctx, bot.Reply{Status: bot.StatusWorking, Title: "holding"})
			if err != nil {
				return err
			}
			select {
			case <-l.release:
			case <-ctx.Done():
				return ctx.Err()
			}
			_, err = w.Update(ctx, sent, bot.Reply{Status: bot.StatusSuccess, Title: "released"})
			return err
		})})
	rt.MustHandle(commands.Command{Name: "whisper", Summary: "Answer privately", Handler: commands.HandlerFunc(
		func(ctx context.Context, w bot.Responder, r *commands.Request) error {
			return bot.ReplyPrivately(ctx, w, r.Message, bot.Reply{Title: "whisper", Text: r.RawArgs})
		})})
	if err := rt.Add(plugin); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(l.url)
	if err != nil {
		t.Fatal(err)
	}
	l.gate = newGate(t, u.Host)
	// The adapter reaches the server through the gate, at another address
	// than the server's Site URL, on which it builds response URLs: the
	// site_url case.
	cfg := mattermost.Config{URL: "http://" + l.gate.addr(), SiteURL: l.url, Token: l.botToken,
		Logger:     slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		BackoffMin: 100 * time.Millisecond, BackoffMax: time.Second, Watchdog: 10 * time.Second}
	if tweak != nil {
		tweak(&cfg)
	}
	l.ad, err = mattermost.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b := bot.New(rt, bot.Options{Logger: quiet}, l.ad)
	done := make(chan struct{})
	go func() { _ = b.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	l.waitState(t, bot.StateConnected, 30*time.Second)
	return l
}

func (l *live) waitState(t *testing.T, want bot.ConnState, d time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(d); l.ad.State() != want; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("adapter state %v, want %v", l.ad.State(), want)
		}
	}
}

// post writes as the user and returns the post.
func (l *live) post(t *testing.T, channel, text string) *model.Post {
	t.Helper()
	p, _, err := l.user.CreatePost(context.Background(), &model.Post{ChannelId: channel, Message: text})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// botReply waits until a post of the bot in the channel (in the thread
// rootID, when set) satisfies ok, and returns it.
func (l *live) botReply(t *testing.T, channel, rootID string, since int64, ok func(*model.Post) bool) *model.Post {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		list, _, err := l.user.GetPostsSince(context.Background(), channel, since, false)
		if err == nil {
			for _, p := range list.ToSlice() {
				if p.UserId == l.botID && p.RootId == rootID && ok(p) {
					return p
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no matching reply from the bot in %s (thread %q)", channel, rootID)
	return nil
}

func TestRunHelloWorldInThreadEditedInPlace(t *testing.T) {
	l := setup(t)
	cmd := l.post(t, l.channelID, "@chatops run hello-world")
	p := l.botReply(t, l.channelID, cmd.Id, cmd.CreateAt-1, func(p *model.Post) bool { return strings.Contains(p.Message, "Hello World") })
	if p.EditAt == 0 {
		t.Fatalf("the result was posted anew; the progress post should have been edited: %+v", p)
	}
	list, _, err := l.user.GetPostThread(context.Background(), cmd.Id, "", false)
	if err != nil {
		t.Fatal(err)
	}
	bots := 0
	for _, q := range list.Posts {
		if q.UserId == l.botID {
			bots++
		}
	}
	if bots != 1 {
		t.Fatalf("%d bot posts in the thread, want one edited in place", bots)
	}
}

func TestDirectMessage(t *testing.T) {
	l := setup(t)
	dm, _, err := l.user.CreateDirectChannel(context.Background(), l.userID, l.botID)
	if err != nil {
		t.Fatal(err)
	}
	cmd := l.post(t, dm.Id, "echo hello from a DM")
	l.botReply(t, dm.Id, "", cmd.CreateAt-1, func(p *model.Post) bool { return strings.Contains(p.Message, "hello from a DM") })
}

// TestOpenDirectFromChannel: asked in a channel, "dm" answers in the DM
// the adapter opens with the bot's token (POST /channels/direct), and
// says so in the command's thread.
func TestOpenDirectFromChannel(t *testing.T) {
	l := setup(t)
	cmd := l.post(t, l.channelID, "@chatops dm only for your eyes")
	l.botReply(t, l.channelID, cmd.Id, cmd.CreateAt-1, func(p *model.Post) bool { return strings.Contains(p.Message, "sent you a direct message") })
	dm, _, err := l.user.CreateDirectChannel(context.Background(), l.userID, l.botID) // finds the bot's
	if err != nil {
		t.Fatal(err)
	}
	l.botReply(t, dm.Id, "", cmd.CreateAt-1, func(p *model.Post) bool { return strings.Contains(p.Message, "only for your eyes") })
}

func TestLongReplyAccepted(t *testing.T) {
	l := setup(t)
	cmd := l.post(t, l.channelID, "@chatops big")
	p := l.botReply(t, l.channelID, cmd.Id, cmd.CreateAt-1, func(p *model.Post) bool { return strings.Contains(p.Message, adaptertest.LastLine) })
	if n := utf8.RuneCountInString(p.Message); n > mattermost.MaxPostRunes {
		t.Fatalf("post of %d runes", n)
	}
}

func (l *live) ctlRun(t *testing.T, cmd string) {
	t.Helper()
	if l.ctl == "" {
		t.Skip("CHATOPS_MM_CTL not set: run bash scripts/mattermost-e2e.sh")
	}
	if out, err := exec.Command(l.ctl, cmd).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", l.ctl, cmd, err, out)
	}
}

// TestServerRestartMidConversation restarts the real server between two
// commands, and posts the second while the adapter is cut off (the gate
// stays closed until the post exists), so only the adapter's catch-up
// after the reconnect can answer it.
func TestServerRestartMidConversation(t *testing.T) {
	l := setup(t)
	first := l.post(t, l.channelID, "@chatops echo before the restart")
	l.botReply(t, l.channelID, first.Id, first.CreateAt-1, func(p *model.Post) bool { return strings.Contains(p.Message, "before the restart") })

	l.gate.setOpen(false)
	l.ctlRun(t, "stop")
	l.waitState(t, bot.StateDegraded, 30*time.Second)
	l.ctlRun(t, "start")
	cmd := l.post(t, l.channelID, "@chatops run hello-world")
	if s := l.ad.State(); s == bot.StateConnected {
		t.Fatalf("adapter %v while cut off", s)
	}
	l.gate.setOpen(true)
	l.botReply(t, l.channelID, cmd.Id, cmd.CreateAt-1, func(p *model.Post) bool { return strings.Contains(p.Message, "Hello World") })
	l.waitState(t, bot.StateConnected, 30*time.Second)

	after := l.post(t, l.channelID, "@chatops echo after the restart")
	l.botReply(t, l.channelID, after.Id, after.CreateAt-1, func(p *model.Post) bool { return strings.Contains(p.Message, "after the restart") })
}

// TestEditAcrossRestart edits a reply posted before a server restart: the
// REST client must work on fresh connections after the restart.
func TestEditAcrossRestart(t *testing.T) {
	l := setup(t)
	cmd := l.post(t, l.channelID, "@chatops hold")
	l.botReply(t, l.channelID, cmd.Id, cmd.CreateAt-1, func(p *model.Post) bool { return strings.Contains(p.Message, "holding") })
	l.ctlRun(t, "restart")
	close(l.release)
	p := l.botReply(t, l.channelID, cmd.Id, cmd.CreateAt-1, func(p *model.Post) bool { return strings.Contains(p.Message, "released") })
	if p.EditAt == 0 {
		t.Fatalf("the update was posted anew instead of editing the reply: %+v", p)
	}
}
