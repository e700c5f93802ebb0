package slack

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/adapters/internal/adaptertest"
	"github.com/chatops-dev/chatops/commands"
)

// TestEndToEndRunHelloWorld drives "@chatops run hello-world" from a Slack
// channel through the run plugin to a pipeline on the GitLab fake (which
// really runs the job's script) and back into the mention's thread.
func TestEndToEndRunHelloWorld(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	demo, plugin := adaptertest.DemoRun(t, "slack:U1")
	h := newHarness(t, harnessOpts{plugins: []commands.Plugin{plugin}})
	start := time.Now()
	d := h.fake.Mention("C1", "U1", "run hello-world")

	var first string // ts of the bot's first reply, which progress edits
	for {
		p, err := h.fake.NextPost(ctx)
		if err != nil {
			t.Fatalf("no result in the thread: %v (posts: %+v)", err, h.fake.Posts())
		}
		switch p.Method {
		case "chat.postMessage":
			if p.ThreadTS != d.TS || p.Channel != "C1" {
				t.Fatalf("reply posted to %s thread %q, want C1 thread %q", p.Channel, p.ThreadTS, d.TS)
			}
			if first == "" {
				first = p.TS
			}
		case "chat.update":
			if p.TS != first {
				t.Fatalf("edited %s, want the first reply %s", p.TS, first)
			}
		}
		if strings.Contains(string(p.Blocks), "Hello World") {
			break
		}
	}
	t.Logf("mention to result in the thread: %s", time.Since(start).Round(time.Millisecond))
	pipes := demo.Pipelines()
	if len(pipes) != 1 {
		t.Fatalf("pipelines created: %d, want 1", len(pipes))
	}
	// The job knows where the command came from: Slack's immutable ids.
	v := pipes[0].Variables
	if v["CHAT_CHANNEL"] != "C1" || v["CHAT_USER_ID"] != "U1" || v["CHATOPS_JOB"] != "hello-world" {
		t.Errorf("pipeline variables %v", v)
	}
}
