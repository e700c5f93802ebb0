package run_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/plugins/run"
)

func TestHappyPathPassesVariablesExactly(t *testing.T) {
	e := newEnv(t, nil)
	r, n := e.say("U-alice", "C1", `run greet fix #123 "a b"`)
	if r.Status != bot.StatusSuccess || r.Title != "greet succeeded" {
		t.Fatalf("reply %+v", r)
	}
	if r.Code != `[fix #123 "a b"] by U-alice in C1` {
		t.Fatalf("chat_reply output = %q", r.Code)
	}
	if n != 1 {
		t.Fatalf("%d messages: progress must be edited in place", n)
	}
	ps := e.gl.Pipelines()
	if len(ps) != 1 {
		t.Fatalf("%d pipelines", len(ps))
	}
	v := ps[0].Variables
	if v["CHAT_INPUT"] != `fix #123 "a b"` || v["CHAT_CHANNEL"] != "C1" || v["CHAT_USER_ID"] != "U-alice" || v["CHATOPS_JOB"] != "greet" || v["CHATOPS_RUN_ID"] == "" {
		t.Fatalf("variables %v", v)
	}
	if len(ps[0].Jobs) != 1 || ps[0].Jobs[0] != "greet:success" {
		t.Fatalf("jobs %v: the pipeline must hold only the job", ps[0].Jobs)
	}
	var links []string
	for _, l := range r.Links {
		links = append(links, l.URL)
	}
	if len(links) != 2 || !strings.Contains(links[0], "/-/pipelines/") || !strings.Contains(links[1], "/-/jobs/") {
		t.Fatalf("links %v", links)
	}
}

func TestStepScriptOutputAndEmptyOutput(t *testing.T) {
	e := newEnv(t, nil)
	r, _ := e.say("U-alice", "C1", "run hello-world")
	if r.Code != "$ echo \"Hello World\"\nHello World" {
		t.Fatalf("output %q", r.Code)
	}
	r, _ = e.say("U-alice", "C2", "run quiet")
	if r.Status != bot.StatusSuccess || r.Code != "$ true" {
		t.Fatalf("quiet reply %+v", r)
	}
}

func TestRefusalsCreateNoPipeline(t *testing.T) {
	tests := []struct {
		name, user, text string
		setup            func(*env)
		title, advice    string
	}{
		{"unlinked user", "U-nobody", "run hello-world", nil, "not linked", `"test:U-nobody" = "<your GitLab username>"`},
		{"unknown gitlab user", "U-ghost", "run hello-world", nil, "does not exist", "ghost"},
		{"not a member", "U-olga", "run hello-world", nil, "not a member", "Developer"},
		{"reporter", "U-rita", "run hello-world", nil, "may not run jobs", "Developer (30)"},
		{"blocked user", "U-bob", "run hello-world", nil, "is blocked", "Blocked"},
		{"unknown job", "U-alice", "run helo-world", nil, "Unknown job helo-world", "Did you mean hello-world?"},
		{"hidden job", "U-alice", "run .hidden", nil, "hidden", "templates"},
		{"except chat", "U-alice", "run secret", nil, "may not run from chat", "except: [chat]"},
		{"no rule matches", "U-alice", "run norule", nil, "GitLab created no pipeline", `- if: $CHATOPS_JOB == "norule"`},
		{"variables forbidden", "U-alice", "run hello-world", func(e *env) { e.gl.SetVariablesForbidden(true) }, "refused the CHAT_* pipeline variables", "Minimum role to use pipeline variables"},
		{"protected branch", "U-alice", "run hello-world", func(e *env) { e.gl.SetProtectedBranch(true) }, "is protected", "Protected branches"},
		{"bad token", "U-alice", "run hello-world", func(e *env) { e.gl.Token = "rotated" }, "rejected the bot's token", "renew"},
		{"gitlab down", "U-alice", "run hello-world", func(e *env) { e.gl.Close() }, "GitLab is unreachable", "Try again"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			if tt.setup != nil {
				tt.setup(e)
			}
			r, _ := e.say(tt.user, "C1", tt.text)
			if r.Status != bot.StatusError || !strings.Contains(r.Title, tt.title) || !strings.Contains(r.Text, tt.advice) {
				t.Fatalf("reply %q / %q", r.Title, r.Text)
			}
			if n := len(e.gl.Pipelines()); n != 0 {
				t.Fatalf("%d pipelines created by a refused run", n)
			}
		})
	}
}

func TestFailureShowsTheEndOfTheLog(t *testing.T) {
	e := newEnv(t, nil)
	r, _ := e.say("U-alice", "C1", "run fail")
	if r.Status != bot.StatusFailure || !strings.Contains(r.Code, "about to fail") || !strings.Contains(r.Code, "exit code 3") {
		t.Fatalf("reply %+v", r)
	}
}

func TestCanceledInGitLab(t *testing.T) {
	e := newEnv(t, nil)
	e.gl.Block("slow")
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.gl.WaitJobStatus(ctx, "slow", "running")
		e.gl.CancelJob("slow")
	}()
	r, _ := e.say("U-alice", "C1", "run slow")
	if r.Status != bot.StatusCanceled || r.Title != "slow was canceled" {
		t.Fatalf("reply %+v", r)
	}
}

func TestTimeoutSaysItIsStillRunning(t *testing.T) {
	e := newEnv(t, func(c *config) { c.run.ReplyTimeout = 300 * time.Millisecond })
	e.gl.Block("slow")
	r, _ := e.say("U-alice", "C1", "run slow")
	if r.Status != bot.StatusTimedOut || !strings.Contains(r.Text, "stopped waiting after 300ms") || len(r.Links) != 2 {
		t.Fatalf("reply %+v", r)
	}
}

func TestManualJob(t *testing.T) {
	t.Run("played", func(t *testing.T) {
		e := newEnv(t, nil)
		r, _ := e.say("U-alice", "C1", "run deploy")
		if r.Status != bot.StatusSuccess || !strings.Contains(r.Code, "deployed") {
			t.Fatalf("reply %+v", r)
		}
		if e.gl.Count("POST", "/projects/42/jobs/") != 1 {
			t.Fatal("the manual job was not played exactly once")
		}
	})
	t.Run("waits", func(t *testing.T) {
		e := newEnv(t, func(c *config) { c.gitlab.PlayManual = false; c.run.ReplyTimeout = 300 * time.Millisecond })
		r, _ := e.say("U-alice", "C1", "run deploy")
		if r.Status != bot.StatusTimedOut || !strings.Contains(r.Text, "waits until someone plays it") {
			t.Fatalf("reply %+v", r)
		}
		if e.gl.Count("POST", "/projects/42/jobs/") != 0 {
			t.Fatal("played although play_manual is off")
		}
	})
}

func TestTransientErrorsAreRetried(t *testing.T) {
	e := newEnv(t, nil)
	e.gl.Fail("GET", "/projects/42/jobs/", 3, 502, "")
	e.gl.Fail("GET", "/projects/42/jobs/", 2, 429, "0")
	e.gl.Fail("GET", "/projects/demo/chatops", 2, 503, "")
	r, _ := e.say("U-alice", "C1", "run hello-world")
	if r.Status != bot.StatusSuccess || !strings.Contains(r.Code, "Hello World") {
		t.Fatalf("reply %+v", r)
	}
}

func TestAmbiguousCreateIsNotRepeated(t *testing.T) {
	e := newEnv(t, nil)
	e.gl.ResetAfterWork("POST", "/projects/42/pipeline", 1)
	r, _ := e.say("U-alice", "C1", "run hello-world")
	if r.Status != bot.StatusSuccess {
		t.Fatalf("reply %+v", r)
	}
	if n := len(e.gl.Pipelines()); n != 1 {
		t.Fatalf("%d pipelines: the creation was repeated blindly", n)
	}
	if e.gl.Count("GET", "/projects/42/pipelines/") == 0 {
		t.Fatal("the bot did not look for the pipeline before deciding")
	}
}

func TestJobMissingFromPipelineIsCanceled(t *testing.T) {
	e := newEnv(t, nil)
	// A job that always runs makes GitLab create the pipeline without the
	// requested one, whose rules do not match.
	e.gl.SetCIConfig(testCI + "\nalways:\n  script:\n    - echo always\n")
	r, _ := e.say("U-alice", "C1", "run norule")
	if r.Status != bot.StatusError || !strings.Contains(r.Text, "was canceled") || !strings.Contains(r.Text, `- if: $CHATOPS_JOB == "norule"`) {
		t.Fatalf("reply %q / %q", r.Title, r.Text)
	}
	if ps := e.gl.Pipelines(); len(ps) != 1 || e.gl.Count("POST", fmt.Sprintf("/projects/42/pipelines/%d/cancel", ps[0].ID)) != 1 {
		t.Fatalf("pipeline not canceled: %+v", ps)
	}
	// Other jobs coming along are reported.
	r, _ = e.say("U-alice", "C2", "run hello-world")
	if r.Status != bot.StatusSuccess || !strings.Contains(r.Text, "also runs always") {
		t.Fatalf("reply %q", r.Text)
	}
}

func TestLintIsCachedBySHA(t *testing.T) {
	e := newEnv(t, nil)
	e.say("U-alice", "C1", "run hello-world")
	e.say("U-alice", "C2", "run hello-world")
	if n := e.gl.Count("GET", "/projects/42/ci/lint"); n != 1 {
		t.Fatalf("%d lint calls for an unchanged branch", n)
	}
	e.gl.SetCIConfig(testCI)
	e.say("U-alice", "C3", "run hello-world")
	if n := e.gl.Count("GET", "/projects/42/ci/lint"); n != 2 {
		t.Fatalf("%d lint calls after a new commit", n)
	}
}

func TestTwentyConcurrentRuns(t *testing.T) {
	e := newEnv(t, nil)
	e.gl.Block("slow") // one slow job must not hold the others up
	e.chat.Say("U-alice", "slow", "run slow")
	var wg sync.WaitGroup
	for i := range 20 {
		ch := fmt.Sprintf("C%d", i)
		e.chat.Say("U-alice", ch, fmt.Sprintf("run greet n%d", i))
		wg.Go(func() {
			r, _ := e.chat.Final(t, ch)
			if want := fmt.Sprintf("[n%d] by U-alice in %s", i, ch); r.Code != want {
				t.Errorf("%s: %q, want %q", ch, r.Code, want)
			}
		})
	}
	wg.Wait()
	if n := len(e.gl.Pipelines()); n != 21 {
		t.Fatalf("%d pipelines", n)
	}
}

func TestListJobs(t *testing.T) {
	e := newEnv(t, nil)
	r, _ := e.say("U-alice", "C1", "run")
	if r.Title != "Jobs you can run" || !strings.Contains(r.Text, "hello-world") || strings.Contains(r.Text, ".hidden") || strings.Contains(r.Text, "secret") {
		t.Fatalf("reply %q", r.Text)
	}
}

func TestSplitJob(t *testing.T) {
	for _, tt := range []struct{ in, job, args string }{
		{"deploy", "deploy", ""},
		{"deploy production --force", "deploy", "production --force"},
		{"  deploy \n  multi\nline  ", "deploy", "multi\nline  "},
		{"", "", ""},
		{"Deploy x", "Deploy", "x"},
	} {
		if job, args := run.SplitJob(tt.in); job != tt.job || args != tt.args {
			t.Errorf("SplitJob(%q) = %q, %q", tt.in, job, args)
		}
	}
}

// At the deadline the job is read once more: one that finished since the
// last look is reported as finished, not "still running", and the deadline
// is kept even when the next poll is far away (webhooks on, none came).
func TestDeadlineLooksOnceMore(t *testing.T) {
	e := newEnv(t, func(c *config) {
		c.run.Webhooks, c.run.HookPollInterval = true, time.Minute
		c.run.ReplyTimeout = 2 * time.Second // well past the job, even on a loaded machine
	})
	start := time.Now()
	r, _ := e.say("U-alice", "C1", "run hello-world")
	if r.Status != bot.StatusSuccess {
		t.Fatalf("reply %q: %q", r.Title, r.Text)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("answered after %v: the deadline waited for the next poll", took)
	}
}
