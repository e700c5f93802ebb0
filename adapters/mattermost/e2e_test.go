package mattermost

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/adapters/internal/adaptertest"
	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/commands"
)

// TestRunHelloWorldEndToEnd drives `@chatops run hello-world` from a
// Mattermost channel through Client4/WebSocketClient4, the bot, the router,
// the run plugin and client-go against the demo GitLab fake.
func TestRunHelloWorldEndToEnd(t *testing.T) {
	h := newHarnessFor(t, func(userID string) bot.Handler {
		rt := commands.NewRouter("chatops")
		_, plugin := adaptertest.DemoRun(t, "mattermost:"+userID)
		if err := rt.Add(plugin); err != nil {
			t.Fatal(err)
		}
		return rt
	}, nil)
	h.waitConnected(1)
	cmd := h.fake.Post(h.fake.ChannelID, h.userID, "@chatops run hello-world", "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var first string
	for {
		r, err := h.fake.NextBotPost(ctx)
		if err != nil {
			t.Fatalf("no final answer: %v", err)
		}
		p := r.Post
		if !r.Patch {
			if p.RootId != cmd.Id {
				t.Fatalf("reply root %q, want the command %q", p.RootId, cmd.Id)
			}
			if first == "" {
				first = p.Id
			}
		}
		t.Logf("patch=%v %s: %.300q", r.Patch, p.Id, p.Message)
		if strings.Contains(p.Message, "⏳") {
			continue
		}
		if !strings.Contains(p.Message, "✅") || !strings.Contains(p.Message, "Hello") {
			t.Fatalf("final answer is not a success showing the job's output: %q", p.Message)
		}
		if !r.Patch || p.Id != first {
			t.Fatalf("final answer patch=%v of %s, want an edit of the progress post %s", r.Patch, p.Id, first)
		}
		return
	}
}
