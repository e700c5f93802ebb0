package discord

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/commands"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
	"github.com/chatops-dev/chatops/plugins/run"
)

// TestRunHelloWorldEndToEnd drives `@chatops run hello-world` from a
// Discord channel through discordgo, the bot, the router, the run plugin
// and client-go against the demo GitLab fake, whose job really runs.
func TestRunHelloWorldEndToEnd(t *testing.T) {
	demo, err := gitlabtest.NewDemo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(demo.Close)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := gitlab.New(gitlab.Config{
		URL: demo.URL, Token: demo.Token, Project: demo.Project,
		PollInterval: 20 * time.Millisecond, ReplyTimeout: 20 * time.Second, Logger: quiet,
		Identities: map[string]string{"discord:u1": demo.User},
	})
	if err != nil {
		t.Fatal(err)
	}
	rt := commands.NewRouter("chatops")
	if err := rt.Add(run.New(svc)); err != nil {
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
