package gitlab_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/bottest"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
)

// startEnv is a fake GitLab whose default branch holds ci, with alice a
// Developer, and a service on it; jobs run without processes.
func startEnv(t *testing.T, ci string) (*gitlabtest.Server, *gitlab.Service) {
	t.Helper()
	fake := gitlabtest.New(gitlabtest.Options{CIConfig: ci, Exec: gitlabtest.SleepExec})
	t.Cleanup(fake.Close)
	fake.AddUser("alice", gitlabtest.Developer)
	svc, err := gitlab.New(gitlab.Config{URL: fake.URL(), Token: fake.Token, Project: fake.ProjectPath, Logger: bottest.Quiet(),
		RetryBackoff: time.Millisecond, Identities: map[string]string{"t:alice": "alice"}})
	if err != nil {
		t.Fatal(err)
	}
	return fake, svc
}

// TestCreateFindsTheJobBeyondTheFirstPageOfJobs: a pipeline whose other
// jobs' rules do not exclude chatops pipelines (what attach reports as
// "The pipeline also runs ...") can hold more than the 100 jobs GitLab
// lists a page. The job asked for, on the second page, is found, and the
// pipeline is not canceled with advice to add a rule that is there.
func TestCreateFindsTheJobBeyondTheFirstPageOfJobs(t *testing.T) {
	var ci strings.Builder
	for i := range 150 { // listed before deploy, oldest first
		fmt.Fprintf(&ci, "build-%03d:\n  rules:\n    - if: $CHATOPS_JOB\n      when: manual\n  script:\n    - \"true\"\n", i)
	}
	ci.WriteString("deploy:\n  rules:\n    - if: $CHATOPS_JOB == \"deploy\"\n  script:\n    - echo deployed\n")
	fake, svc := startEnv(t, ci.String())
	ctx := context.Background()
	plan, err := svc.Prepare(ctx, gitlab.RunRequest{Job: "deploy", Identity: "t:alice"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := svc.Create(ctx, plan, "run-1", time.Now())
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	p := fake.Pipelines()[0]
	if want := p.JobIDs[len(p.JobIDs)-1]; st.JobID != want || p.Jobs[len(p.Jobs)-1] == "deploy:canceled" {
		t.Fatalf("JobID = %d, want %d (deploy); jobs %v", st.JobID, want, p.Jobs[len(p.Jobs)-1])
	}
	if len(st.Notes) != 1 || !strings.Contains(st.Notes[0], "build-009 and 140 more jobs") {
		t.Errorf("notes %q: want the first ten other jobs named", st.Notes)
	}
	if n := fake.Count("GET", fmt.Sprintf("/projects/42/pipelines/%d/jobs", p.ID)); n != 2 {
		t.Errorf("%d requests for the jobs, want 2 pages", n)
	}
}

// refusedWith fails unless err is a *bot.Refusal whose title holds want.
func refusedWith(t *testing.T, what string, err error, want string) *bot.Refusal {
	t.Helper()
	var ref *bot.Refusal
	if !errors.As(err, &ref) || !strings.Contains(ref.Title, want) {
		t.Fatalf("%s: %v, want a refusal titled ...%q...", what, err, want)
	}
	return ref
}

// TestCreateFindsATriggerJob: a job with trigger: (a bridge to a child or
// downstream pipeline, a common way to deploy) has no log for chatops to
// reply with, so Prepare refuses it up front, saying what to run instead.
// When the pipeline has it anyway (trigger: through extends:, or a
// configuration changed since Prepare), GitLab lists it only under
// /pipelines/:id/bridges: Create finds it there and leaves the pipeline
// running, instead of canceling it with advice about rules.
func TestCreateFindsATriggerJob(t *testing.T) {
	fake, svc := startEnv(t, "deploy:\n  rules:\n    - if: $CHATOPS_JOB == \"deploy\"\n  trigger:\n    include: deploy.yml\n    strategy: depend\n")
	ctx := context.Background()
	_, err := svc.Prepare(ctx, gitlab.RunRequest{Job: "deploy", Identity: "t:alice"})
	ref := refusedWith(t, "Prepare", err, "deploy is a trigger job")
	if !strings.Contains(ref.Text, "no log") || !strings.Contains(ref.Text, "$CI_JOB_TOKEN") {
		t.Errorf("refusal %q: want why and what to run instead", ref.Text)
	}
	if len(fake.Pipelines()) != 0 {
		t.Fatal("Prepare created a pipeline")
	}
	plan := gitlab.Plan{Job: "deploy", User: "alice", ProjectID: fake.ProjectID, Ref: "main"}
	st, err := svc.Create(ctx, plan, "run-1", time.Now())
	refusedWith(t, "Create", err, "deploy is a trigger job")
	if st.PipelineURL == "" || st.JobURL == "" {
		t.Errorf("state %+v: want the pipeline and the trigger job linked", st)
	}
	if n := fake.Count("POST", "/projects/42/pipelines/"); n != 0 {
		t.Errorf("the pipeline running the trigger job was canceled (%d requests)", n)
	}
}

// TestCreateFindsAParallelJob: "deploy: parallel: 2" makes GitLab create
// "deploy 1/2" and "deploy 2/2" ("deploy: [a, b]" for a matrix), each with
// its own log, and no job named deploy. chatops runs and reports one job,
// so Prepare refuses it up front; a pipeline that has the instances anyway
// (parallel: through extends:) is recognised and left running, instead of
// canceled with advice about rules.
func TestCreateFindsAParallelJob(t *testing.T) {
	fake, svc := startEnv(t, "deploy:\n  parallel: 2\n  rules:\n    - if: $CHATOPS_JOB == \"deploy\"\n      when: manual\n  script:\n    - echo deployed\n")
	ctx := context.Background()
	_, err := svc.Prepare(ctx, gitlab.RunRequest{Job: "deploy", Identity: "t:alice"})
	ref := refusedWith(t, "Prepare", err, "deploy runs in parallel")
	if !strings.Contains(ref.Text, `"deploy 1/2"`) || !strings.Contains(ref.Text, "one job") {
		t.Errorf("refusal %q: want what GitLab makes of it and why", ref.Text)
	}
	if jobs, err := svc.ChatJobs(ctx, "t:alice"); err != nil || len(jobs) != 0 {
		t.Errorf("ChatJobs = %v, %v: a parallel job is not offered", jobs, err)
	}
	plan := gitlab.Plan{Job: "deploy", User: "alice", ProjectID: fake.ProjectID, Ref: "main"}
	_, err = svc.Create(ctx, plan, "run-1", time.Now())
	ref = refusedWith(t, "Create", err, "deploy runs in parallel")
	if !strings.Contains(ref.Text, "deploy 1/2, deploy 2/2") || !strings.Contains(ref.Text, "left running") {
		t.Errorf("refusal %q: want the instances named", ref.Text)
	}
	if n := fake.Count("POST", "/projects/42/pipelines/"); n != 0 {
		t.Errorf("the pipeline running the parallel job was canceled (%d requests)", n)
	}
}
