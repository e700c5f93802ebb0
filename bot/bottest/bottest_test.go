package bottest_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/bottest"
)

// TestFinalInSkipsLateRepliesToEarlierMessages: an answer that comes late
// for an earlier message (here: "slow", answered after "fast") is not read
// as the answer to the next one, which Final on the channel would do.
func TestFinalInSkipsLateRepliesToEarlierMessages(t *testing.T) {
	release := make(chan struct{})
	h := bot.HandlerFunc(func(ctx context.Context, w bot.Responder, m bot.Message) {
		if m.Text == "slow" {
			<-release
		}
		if _, err := w.Reply(ctx, bot.Reply{Status: bot.StatusSuccess, Title: "answer to " + m.Text}); err != nil {
			t.Error(err)
		}
	})
	chat := bottest.NewChat("test")
	bottest.Start(t, h, bot.Options{}, chat)

	chat.Ask("U-alice", "C1", "slow")
	first := chat.Ask("U-alice", "C1", "first")
	if r, _ := chat.FinalIn(t, "C1", first); r.Title != "answer to first" {
		t.Fatalf("FinalIn = %q", r.Title)
	}
	// "slow" answers now, late: its answer waits unread in the channel.
	close(release)
	for !slices.ContainsFunc(chat.Messages("C1"), func(r bot.Reply) bool { return r.Title == "answer to slow" }) {
		time.Sleep(time.Millisecond)
	}
	next := chat.Ask("U-alice", "C1", "next")
	r, n := chat.FinalIn(t, "C1", next)
	if r.Title != "answer to next" || n != 3 {
		t.Fatalf("FinalIn = %q with %d messages, want the answer to next among 3", r.Title, n)
	}
	if first == next {
		t.Fatal("two messages share a thread")
	}
}
