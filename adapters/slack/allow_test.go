package slack

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/adapters/slack/slacktest"
)

// Events from a workspace outside [slack] team_ids are acknowledged (so
// Slack does not redeliver them) and ignored, logged once.
func TestWorkspaceAllowlist(t *testing.T) {
	h := newHarness(t, harnessOpts{teams: []string{"TELSEWHERE"}})
	h.waitConnections(1)
	h.fake.Mention("C1", "U1", "echo one")
	h.fake.SlashCommand("C1", "U1", "echo two")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if p, err := h.fake.NextPost(ctx); err == nil {
		t.Fatalf("answered a foreign workspace: %+v", p)
	}
	if n := strings.Count(h.logs.String(), "not in the allowlist"); n != 1 {
		t.Fatalf("%d allowlist log lines for one foreign workspace, want 1", n)
	}
}

// The listed workspace is served.
func TestWorkspaceAllowlistServesItsOwn(t *testing.T) {
	h := newHarness(t, harnessOpts{teams: []string{slacktest.DefaultTeamID}})
	h.waitConnections(1)
	h.fake.Mention("C1", "U1", "echo mine")
	if p := h.nextPost(); !strings.Contains(string(p.Blocks)+p.Text, "mine") {
		t.Fatalf("reply %+v", p)
	}
}
