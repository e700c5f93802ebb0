package gitlab_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/bottest"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
)

const limitsCI = `
hello:
  rules:
    - if: $CHATOPS_JOB == "hello"
  script:
    - echo hello
noop:
  rules:
    - if: $CHATOPS_JOB
      when: manual
  script:
    - "true"
`

func limitsEnv(t *testing.T, tweak func(*gitlab.Config)) (*gitlabtest.Server, *gitlab.Service) {
	t.Helper()
	var probe gitlab.Config
	if tweak != nil {
		tweak(&probe)
	}
	// Sudo needs an administrator's token, as on GitLab.
	fake := gitlabtest.New(gitlabtest.Options{CIConfig: limitsCI, Admin: probe.ActAs == gitlab.ActAsSudo})
	t.Cleanup(fake.Close)
	fake.AddUser("alice", gitlabtest.Developer)
	fake.AddUser("gina", gitlabtest.Guest)
	cfg := gitlab.Config{URL: fake.URL(), Token: fake.Token, Project: fake.ProjectPath, Logger: bottest.Quiet(),
		RetryBackoff: time.Millisecond, Identities: map[string]string{"t:alice": "alice", "t:gina": "gina"}}
	if tweak != nil {
		tweak(&cfg)
	}
	svc, err := gitlab.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return fake, svc
}

// A GitLab that accepts connections and never answers cannot hold a call
// past its bound.
func TestHangingGitLabIsBounded(t *testing.T) {
	fake, svc := limitsEnv(t, func(c *gitlab.Config) { c.RequestTimeout = 150 * time.Millisecond })
	fake.Hang("GET", "/projects/42/jobs/", 100)
	start := time.Now()
	_, err := svc.Job(context.Background(), 42, 7)
	if err == nil {
		t.Fatal("a call to a hanging GitLab succeeded")
	}
	// The bound is 150 ms; 10 s leaves room for a loaded machine while
	// still failing on the old behaviour (no answer, ever).
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("the call waited %v for a GitLab that never answers", took)
	}
	if d := gitlab.Describe(err); strings.Contains(d, "http") || strings.Contains(d, "/api/v4") {
		t.Fatalf("the chat text names an API URL: %q", d)
	}
}

// A Retry-After of minutes is capped: the bot does not sleep past its run's
// deadline.
func TestRetryAfterIsCapped(t *testing.T) {
	fake, svc := limitsEnv(t, func(c *gitlab.Config) { c.MaxRetryWait = 50 * time.Millisecond })
	plan, err := svc.Prepare(context.Background(), gitlab.RunRequest{Job: "hello", Identity: "t:alice", ChannelID: "C", UserID: "U"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := svc.Create(context.Background(), plan, "run-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	fake.Fail("GET", "/projects/42/jobs/", 3, 429, "12")
	start := time.Now()
	if _, err := svc.Job(context.Background(), 42, st.JobID); err != nil {
		t.Fatal(err)
	}
	// Three waits capped at 50 ms; honouring Retry-After: 12 would take 36 s.
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("Retry-After: 12 made a poll take %v", took)
	}
}

// A successful job's log without a complete section (cut by GitLab's size
// limit) is read again only while it grows, with growing waits.
func TestLogThatStoppedGrowingIsNotReadAgain(t *testing.T) {
	fake, svc := limitsEnv(t, func(c *gitlab.Config) {
		c.ExtractWait, c.ExtractInterval = 10*time.Second, 20*time.Millisecond
	})
	cut := "section_start:1:step_script\r\x1b[0Kstep\n$ ./big\n" + strings.Repeat("line\n", 1000) // no section_end: cut
	fake.SetTraceSource("hello", func() io.Reader { return strings.NewReader(cut) })
	plan, err := svc.Prepare(context.Background(), gitlab.RunRequest{Job: "hello", Identity: "t:alice", ChannelID: "C", UserID: "U"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := svc.Create(context.Background(), plan, "run-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r, err := svc.FetchLog(context.Background(), plan.ProjectID, st.JobID, true)
	if err != nil {
		t.Fatal(err)
	}
	if r.Section != "" {
		t.Fatalf("section %q in a cut log", r.Section)
	}
	if n := fake.Count("GET", fmt.Sprintf("/projects/42/jobs/%d/trace", st.JobID)); n != 2 {
		t.Fatalf("%d downloads of a log that stopped growing, want 2 (read again for %v)", n, time.Since(start))
	}
}

// After an ambiguous create (the answer lost) the run's pipeline is found
// however many other pipelines were created meanwhile: no second one.
func TestAmbiguousCreateFindsItsPipelineInABusyProject(t *testing.T) {
	fake, svc := limitsEnv(t, nil)
	ctx := context.Background()
	plan, err := svc.Prepare(ctx, gitlab.RunRequest{Job: "noop", Identity: "t:alice", ChannelID: "C", UserID: "U"})
	if err != nil {
		t.Fatal(err)
	}
	created := time.Now()
	fake.ResetAfterWork("POST", "/projects/42/pipeline", 1)
	// The lost create reaches GitLab first; then 150 other pipelines are
	// created by others before the bot looks: its pipeline is on page 2.
	if _, err := svc.Create(ctx, plan, "others-0", created); err != nil {
		var ref *bot.Refusal
		if !errors.As(err, &ref) {
			t.Fatal(err)
		}
	}
	for i := range 150 {
		if _, err := svc.Create(ctx, plan, fmt.Sprintf("others-%d", i+1), created); err != nil {
			t.Fatal(err)
		}
	}
	st, found, err := svc.Find(ctx, plan, "others-0", created)
	if err != nil || !found {
		t.Fatalf("the run's pipeline was not found among 151 (found %v, %v)", found, err)
	}
	n := 0
	for _, p := range fake.Pipelines() {
		if p.Variables["CHATOPS_RUN_ID"] == "others-0" {
			n++
			if p.ID != st.PipelineID {
				t.Fatalf("found pipeline #%d, the run's is #%d", st.PipelineID, p.ID)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d pipelines carry the run id", n)
	}
}

// Refusals cost GitLab nothing they need not: an unmapped user is refused
// before any request, and the job list is not shown to a Guest.
func TestRefusalsCostNoRequests(t *testing.T) {
	fake, svc := limitsEnv(t, nil)
	_, err := svc.Prepare(context.Background(), gitlab.RunRequest{Job: "hello", Identity: "t:nobody"})
	var ref *bot.Refusal
	if !errors.As(err, &ref) || !strings.Contains(ref.Title, "not linked") {
		t.Fatalf("err = %v", err)
	}
	if _, err := svc.ChatJobs(context.Background(), "t:nobody"); err == nil {
		t.Fatal("the job list was shown to an unmapped user")
	}
	if n := len(fake.Requests()); n != 0 {
		t.Fatalf("%d GitLab requests for an unmapped user", n)
	}
	if _, err := svc.ChatJobs(context.Background(), "t:gina"); !errors.As(err, &ref) || !strings.Contains(ref.Title, "may not run jobs") {
		t.Fatalf("the job list for a Guest: %v", err)
	}
	if jobs, err := svc.ChatJobs(context.Background(), "t:alice"); err != nil || len(jobs) != 2 {
		t.Fatalf("the job list for a Developer: %v, %v", jobs, err)
	}
}

// No credential of the configured URL reaches a chat text.
func TestUnreachableNamesTheHostOnly(t *testing.T) {
	_, svc := limitsEnv(t, func(c *gitlab.Config) {
		c.URL = "http://bot:s3cret@127.0.0.1:1" // nothing listens on port 1
		c.RequestTimeout = 200 * time.Millisecond
	})
	_, err := svc.Prepare(context.Background(), gitlab.RunRequest{Job: "hello", Identity: "t:alice"})
	var ref *bot.Refusal
	if !errors.As(err, &ref) || ref.Title != "GitLab is unreachable" {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(ref.Text, "s3cret") || strings.Contains(ref.Text, "bot:") || !strings.Contains(ref.Text, "127.0.0.1:1") {
		t.Fatalf("text %q", ref.Text)
	}
}
