package deploy_test

import (
	"strings"
	"testing"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/plugins/internal/plugintest"
)

// TestReviewRetryOfADeploy: `retry` of a deploy's run (runs lists it
// with "retry <id> runs it again") starts a `run` of the manual job
// instead: a new pipeline at the branch's head, not a promotion of what
// the source environment runs. It creates a pipeline with a job the deploy
// never meant to start from scratch. Here (the job has no chatops rule)
// it answers by telling the user to add a CHATOPS_JOB rule to the deploy
// job, which would make every later retry deploy the branch head.
func TestReviewRetryOfADeploy(t *testing.T) {
	e := plugintest.New(t, plugintest.CI)
	pushed(t, e, "deploy-production")
	if r := e.Say("alice", "C1", "deploy staging to production"); r.Status != bot.StatusSuccess {
		t.Fatalf("deploy: %q / %q", r.Title, r.Text)
	}
	before := len(e.GL.Pipelines())
	r := e.Say("alice", "C1", "retry")
	t.Logf("retry answered [%s] %q / %q", r.Status, r.Title, r.Text)
	if strings.Contains(r.Text, "CHATOPS_JOB") || strings.Contains(r.Title, "created no pipeline") {
		t.Errorf("retry of a deploy was served as run deploy-production: %q / %q", r.Title, r.Text)
	}
	if n := len(e.GL.Pipelines()); n != before {
		t.Fatalf("retry of a deploy created %d new pipeline(s) (a run of deploy-production on the branch head), answering %q", n-before, r.Title)
	}
}
