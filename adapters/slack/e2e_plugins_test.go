package slack

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/adapters/internal/adaptertest"
)

// TestEndToEndIssueAndDeploy drives "@chatops issue show 1" and
// "@chatops deploy staging to production" from a Slack channel through
// the issue and deploy plugins to the demo GitLab and back into the
// mentions' threads.
func TestEndToEndIssueAndDeploy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	demo, set := adaptertest.DemoPlugins(t, "slack:U1")
	if err := demo.DeployStaging(ctx); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, harnessOpts{plugins: set.Plugins()})
	tests := []struct{ text, want string }{
		{"issue show 1", "Deploy button does nothing on Safari"},
		{"issue search deploy", "All results in GitLab"},
		{"deploy staging to production", "deploy-production succeeded"},
	}
	for _, tt := range tests {
		d := h.fake.Mention("C1", "U1", tt.text)
		for {
			p, err := h.fake.NextPost(ctx)
			if err != nil {
				t.Fatalf("%s: no %q in the thread: %v (posts: %+v)", tt.text, tt.want, err, h.fake.Posts())
			}
			if p.Method == "chat.postMessage" && p.ThreadTS != d.TS {
				t.Fatalf("%s: reply in thread %q, want %q", tt.text, p.ThreadTS, d.TS)
			}
			if strings.Contains(string(p.Blocks), tt.want) {
				break
			}
		}
	}
}
