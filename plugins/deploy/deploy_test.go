package deploy_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
	"github.com/chatops-dev/chatops/plugins/internal/plugintest"
	"github.com/chatops-dev/chatops/plugins/run/policy"
	"github.com/chatops-dev/chatops/store"
	"github.com/chatops-dev/chatops/store/sqlite"
)

// pushed pushes main, waits until staging is deployed and returns the
// pipeline and the id of its job named job.
func pushed(t *testing.T, e *plugintest.Env, job string) (gitlabtest.PipelineInfo, int64) {
	t.Helper()
	id := e.GL.Push("main")
	if id == 0 {
		t.Fatal("the push created no pipeline")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.GL.WaitJobStatus(ctx, "deploy-staging", "success"); err != nil {
		t.Fatal(err)
	}
	for _, p := range e.GL.Pipelines() {
		if p.ID != id {
			continue
		}
		for i, j := range p.Jobs {
			if strings.HasPrefix(j, job+":") {
				return p, p.JobIDs[i]
			}
		}
		t.Fatalf("pipeline %d has no job %s: %v", id, job, p.Jobs)
	}
	t.Fatalf("pipeline %d not found", id)
	return gitlabtest.PipelineInfo{}, 0
}

func TestDeployPlaysAndFollowsTheJob(t *testing.T) {
	e := plugintest.New(t, plugintest.CI)
	_, job := pushed(t, e, "deploy-production")
	r := e.Say("alice", "C1", "deploy staging to production")
	if r.Status != bot.StatusSuccess || r.Title != "deploy-production succeeded" || r.Code != "$ echo \"production up\"\nproduction up" {
		t.Fatalf("reply [%s] %q / %q / %q", r.Status, r.Title, r.Text, r.Code)
	}
	if !strings.Contains(r.Text, "Deploying main (") || !strings.Contains(r.Text, "from staging to production") {
		t.Fatalf("the reply does not say what is deployed: %q", r.Text)
	}
	if n := e.GL.PlayCount(job); n != 1 {
		t.Fatalf("played %d times", n)
	}
	// The answer links the pipeline and the job (GitLab's play answer
	// carries no pipeline URL: the one known before is kept).
	for _, l := range r.Links {
		if l.URL == "" {
			t.Fatalf("link %q has no address: %+v", l.Label, r.Links)
		}
	}
	if len(r.Links) < 2 {
		t.Fatalf("links %+v, want the pipeline's and the job's", r.Links)
	}
	// Deploying again: the job was played, nothing waits any more.
	r = e.Say("alice", "C2", "deploy staging to production")
	if r.Status != bot.StatusError || r.Title != "Nothing deploys staging to production" || !strings.Contains(r.Text, "no manual jobs left") {
		t.Fatalf("second deploy: %q / %q", r.Title, r.Text)
	}
	// The deploy was stored as a run of its kind, and answered.
	e.Stop()
	st, err := sqlite.Open(context.Background(), e.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runs, err := st.ListRuns(context.Background(), store.RunFilter{Limit: 10})
	if err != nil || len(runs) != 1 || runs[0].Kind != "deploy" || runs[0].JobID != job || runs[0].Phase != store.PhaseDone {
		t.Fatalf("stored runs %+v, %v", runs, err)
	}
}

func TestDeployRefusals(t *testing.T) {
	e := plugintest.New(t, plugintest.CI)
	tests := []struct {
		name, user, text, title, body string
	}{
		{"no environment yet", "alice", "deploy staging to production", "No environment staging in demo/chatops", "has no environments"},
		{"unmapped user", "nobody", "deploy staging to production", "not linked", "test:U-nobody"},
		{"a guest", "gus", "deploy staging to production", "You may not run jobs in demo/chatops", "Developer"},
		{"a reporter", "rita", "deploy staging to production", "You may not run jobs in demo/chatops", "Developer"},
		{"usage", "alice", "deploy staging", "Deploy what where?", "deploy <environment> to <target-environment>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.Say(tt.user, "C-"+tt.name, tt.text)
			if r.Status != bot.StatusError || !strings.Contains(r.Title, tt.title) || !strings.Contains(r.Text, tt.body) {
				t.Fatalf("reply %q / %q, want %q / %q", r.Title, r.Text, tt.title, tt.body)
			}
		})
	}
	// Once a push deployed staging: unknown environments are named.
	_, job := pushed(t, e, "deploy-production")
	after := []struct {
		name, text, title, body string
	}{
		{"unknown source", "deploy review to production", "No environment review in demo/chatops", "Environments in demo/chatops: production, staging."},
		{"no job for the target", "deploy staging to qa", "Nothing deploys staging to qa", "Its manual jobs: deploy-production."},
		{"source never deployed", "deploy production to staging", "production has no successful deployment", "deploy to it first"},
	}
	for _, tt := range after {
		t.Run(tt.name, func(t *testing.T) {
			r := e.Say("alice", "C-"+tt.name, tt.text)
			if r.Status != bot.StatusError || !strings.Contains(r.Title, tt.title) || !strings.Contains(r.Text, tt.body) {
				t.Fatalf("reply %q / %q, want %q / %q", r.Title, r.Text, tt.title, tt.body)
			}
		})
	}
	if n := e.GL.PlayCount(job); n != 0 {
		t.Fatalf("a refused deploy played the job %d times", n)
	}
}

func TestDeploySeveralActions(t *testing.T) {
	tests := []struct {
		name, ci, played, title, body string
	}{
		{name: "two, none named after the target", ci: twoRegions, title: "3 jobs deploy staging to production", body: "deploy-production, prod-eu, prod-us"},
		{name: "two, one named after the target (GitLab's choice)", ci: withCanary, played: "production"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := plugintest.New(t, tt.ci)
			pushed(t, e, "deploy-staging")
			r := e.Say("alice", "C1", "deploy staging to production")
			if tt.played == "" {
				if r.Status != bot.StatusError || r.Title != tt.title || !strings.Contains(r.Text, tt.body) {
					t.Fatalf("reply %q / %q", r.Title, r.Text)
				}
				if n := e.GL.Count("POST", "/projects/42/jobs/"); n != 0 {
					t.Fatalf("%d jobs played", n)
				}
				return
			}
			if r.Status != bot.StatusSuccess || r.Title != tt.played+" succeeded" {
				t.Fatalf("reply %q / %q", r.Title, r.Text)
			}
		})
	}
}

const twoRegions = plugintest.CI + `
prod-eu:
  environment: production
  rules:
    - if: $CI_PIPELINE_SOURCE == "push"
      when: manual
  script:
    - echo eu
prod-us:
  environment: production
  rules:
    - if: $CI_PIPELINE_SOURCE == "push"
      when: manual
  script:
    - echo us
`

const withCanary = `
deploy-staging:
  environment: staging
  rules:
    - if: $CI_PIPELINE_SOURCE == "push"
  script:
    - echo "staging up"
production:
  environment: production
  rules:
    - if: $CI_PIPELINE_SOURCE == "push"
      when: manual
  script:
    - echo "all of production"
production-canary:
  environment: production
  rules:
    - if: $CI_PIPELINE_SOURCE == "push"
      when: manual
  script:
    - echo "canary"
`

// diedBeforeThePlay leaves e's store as a process that died after
// recording a deploy of deploy-production and before its play reached
// GitLab leaves it (the bot stopped, the run "creating" with the manual
// job's id, due within deadline), and returns the job's id.
func diedBeforeThePlay(t *testing.T, e *plugintest.Env, deadline time.Duration) int64 {
	t.Helper()
	p, job := pushed(t, e, "deploy-production")
	e.Stop()
	st, err := sqlite.Open(context.Background(), e.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	run := &store.Run{ID: "0123456789abcdef0123", Kind: "deploy", Platform: plugintest.Platform, ChannelID: "C1",
		Requester: "test:U-alice", UserID: "U-alice", GitLabUser: "alice", Project: "demo/chatops", ProjectID: 42, Ref: "main",
		Job: "deploy-production", JobID: job, PipelineID: p.ID, Status: "manual",
		Phase: store.PhaseCreating, Deadline: time.Now().Add(deadline)}
	if err := st.CreateRun(context.Background(), run); err != nil {
		t.Fatal(err)
	}
	return job
}

// A process that dies after recording a deploy and before the play
// reached GitLab: the next process plays the job, once.
func TestDeployResumedBeforeThePlay(t *testing.T) {
	e := plugintest.New(t, plugintest.CI)
	job := diedBeforeThePlay(t, e, 10*time.Second)
	e.Start()
	r, _ := e.Chat.Final(t, "C1")
	if r.Status != bot.StatusSuccess || r.Title != "deploy-production succeeded" {
		t.Fatalf("reply %q / %q", r.Title, r.Text)
	}
	if n := e.GL.PlayCount(job); n != 1 {
		t.Fatalf("played %d times", n)
	}
}

// A resumed deploy whose job GitLab will not show (a 502 every time):
// retried until the run's deadline, then answered "lost track" once,
// never played blind and never retried for ever.
func TestDeployResumedWhileGitLabFailsIsAnsweredAtTheDeadline(t *testing.T) {
	e := plugintest.New(t, plugintest.CI)
	job := diedBeforeThePlay(t, e, 2*time.Second)
	e.GL.Fail("GET", fmt.Sprintf("/projects/42/jobs/%d", job), 100000, 502, "")
	e.Start()
	r, _ := e.Chat.Final(t, "C1")
	if r.Status != bot.StatusError || r.Title != "Lost track of deploy-production" || !strings.Contains(r.Text, "Look at the job in GitLab") {
		t.Fatalf("reply %q / %q", r.Title, r.Text)
	}
	if n := e.GL.PlayCount(job); n != 0 {
		t.Fatalf("played %d times without knowing whether it was played", n)
	}
}

// A process that dies after GitLab played the job and before it heard
// so: the next process reads the job, sees it played, and follows it
// without playing it again.
func TestDeployResumedAfterThePlay(t *testing.T) {
	e := plugintest.New(t, plugintest.CI)
	_, job := pushed(t, e, "deploy-production")
	hold := e.GL.HoldAfterWork("POST", "/projects/42/jobs/", 1)
	e.Chat.Say("U-alice", "C1", "deploy staging to production")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hold.Wait(ctx, 1); err != nil {
		t.Fatal(err)
	}
	e.Stop() // the play took effect; its answer never arrives
	hold.Release()
	e.Start()
	r, ok := e.Chat.WaitFor("C1", func(r bot.Reply) bool { return r.Status == bot.StatusSuccess }, 10*time.Second)
	if !ok || r.Title != "deploy-production succeeded" {
		t.Fatalf("no success reply after the restart: %+v", e.Chat.Messages("C1"))
	}
	if n := e.GL.PlayCount(job); n != 1 {
		t.Fatalf("played %d times", n)
	}
}

// TestDeployObeysJobPolicy: playing a manual job is judged by that job's
// policy as run is: a Developer is refused a Maintainer-only job, and a
// job that asks for confirmation is not played unasked.
func TestDeployObeysJobPolicy(t *testing.T) {
	e := plugintest.New(t, plugintest.CI)
	e.Stop()
	e.Policy = policy.Set{Global: map[string]policy.Rule{"deploy-production": {MinRole: "maintainer"}}}
	e.Start()
	_, job := pushed(t, e, "deploy-production")
	r := e.Say("alice", "C1", "deploy staging to production")
	if r.Status != bot.StatusError || !strings.Contains(r.Text, "min_role rule") {
		t.Fatalf("developer: %q / %q", r.Title, r.Text)
	}
	e.Stop()
	e.Policy = policy.Set{Global: map[string]policy.Rule{"deploy-production": {Confirm: true}}}
	e.Start()
	r = e.Say("alice", "C2", "deploy staging to production")
	if r.Status != bot.StatusError || !strings.Contains(r.Title, "asks for confirmation") {
		t.Fatalf("confirm job: %q / %q", r.Title, r.Text)
	}
	if n := e.GL.PlayCount(job); n != 0 {
		t.Fatalf("played %d times", n)
	}
}

// TestRetryOfADeployIsRefused: `retry` of a deploy's run is refused with
// a pointer to `deploy <from> to <to>`, rather than served as a `run` of
// the manual job (a new pipeline at the branch's head, not a promotion of
// what the source environment runs), and creates no pipeline.
func TestRetryOfADeployIsRefused(t *testing.T) {
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
	if !strings.Contains(r.Text, "deploy <from> to <to>") {
		t.Errorf("retry of a deploy does not point to the deploy command: %q / %q", r.Title, r.Text)
	}
	if n := len(e.GL.Pipelines()); n != before {
		t.Fatalf("retry of a deploy created %d new pipeline(s) (a run of deploy-production on the branch head), answering %q", n-before, r.Title)
	}
}
