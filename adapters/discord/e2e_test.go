package discord

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/adapters/internal/adaptertest"
	"github.com/chatops-dev/chatops/commands"
)

// TestRunHelloWorldEndToEnd drives `@chatops run hello-world` from a
// Discord channel through discordgo, the bot, the router, the run plugin
// and client-go against the demo GitLab fake, whose job really runs.
func TestRunHelloWorldEndToEnd(t *testing.T) {
	_, plugin := adaptertest.DemoRun(t, "discord:u1")
	rt := commands.NewRouter("chatops")
	if err := rt.Add(plugin); err != nil {
		t.Fatal(err)
	}
	h := newHarnessWith(t, rt, nil)
	h.ready(1)
	cmd := h.mention("c1", "u1", "run hello-world")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var first string
	for {
		p, err := h.fake.NextPost(ctx)
		if err != nil {
			t.Fatalf("no final answer: %v", err)
		}
		if p.Kind == "create" {
			if p.ReplyTo != cmd {
				t.Fatalf("reply references %q, want the command %q", p.ReplyTo, cmd)
			}
			if first == "" {
				first = p.MessageID
			}
		}
		t.Logf("%s %s: %.300q", p.Kind, p.MessageID, p.Content)
		if strings.Contains(p.Content, "⏳") {
			continue // progress
		}
		if !strings.Contains(p.Content, "✅") || !strings.Contains(p.Content, "Hello") {
			t.Fatalf("final answer is not a success showing the job's output: %q", p.Content)
		}
		if p.Kind != "edit" || p.MessageID != first {
			t.Fatalf("final answer is a %s of message %s, want an edit of the progress message %s", p.Kind, p.MessageID, first)
		}
		return
	}
}
