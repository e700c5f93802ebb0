package gitlab_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/bot/bottest"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
	"github.com/chatops-dev/chatops/gitlab/joblog"
)

// Each job echoes "from the log" so that a reply taken from the log shows.
const replyCI = `
report:
  rules: [{if: $CHATOPS_JOB == "report"}]
  script:
    - echo "from the log"
    - printf '# Deployed\n\n**v1.4.2** to production\n\n' > chat_reply.md
  artifacts: {paths: [chat_reply.md], expire_in: 1 day}
nested:
  rules: [{if: $CHATOPS_JOB == "nested"}]
  script:
    - echo "from the log"
    - mkdir -p out && echo "nested reply" > "out/my reply.md"
  artifacts: {paths: [out]}
other:
  rules: [{if: $CHATOPS_JOB == "other"}]
  script:
    - echo "from the log"
    - mkdir -p out && echo x > out/x.txt
  artifacts: {paths: [out]}
plain:
  rules: [{if: $CHATOPS_JOB == "plain"}]
  script:
    - echo "from the log"
    - echo "not kept" > chat_reply.md
huge:
  rules: [{if: $CHATOPS_JOB == "huge"}]
  script:
    - echo "from the log"
    - head -c 300000 /dev/zero | tr '\0' x > chat_reply.md && echo END >> chat_reply.md
    - cp chat_reply.md chat_reply.txt
  artifacts: {paths: [chat_reply.md, chat_reply.txt]}
binary:
  rules: [{if: $CHATOPS_JOB == "binary"}]
  script:
    - echo "from the log"
    - printf '\211PNG\r\n\032\n\000\000\000\rIHDR' > chat_reply.md
  artifacts: {paths: [chat_reply.md]}
latin1:
  rules: [{if: $CHATOPS_JOB == "latin1"}]
  script:
    - echo "from the log"
    - printf 'caf\351 cr\350me\n' > chat_reply.md
  artifacts: {paths: [chat_reply.md]}
empty:
  rules: [{if: $CHATOPS_JOB == "empty"}]
  script:
    - echo "from the log"
    - ": > chat_reply.md"
  artifacts: {paths: [chat_reply.md]}
failing:
  rules: [{if: $CHATOPS_JOB == "failing"}]
  script:
    - echo "from the log"
    - echo "why" > chat_reply.md
    - exit 1
  artifacts: {paths: [chat_reply.md], when: always}
`

type replyEnv struct {
	fake *gitlabtest.Server
	svc  *gitlab.Service
	logs *bottest.Buffer
}

func newReplyEnv(t *testing.T, tweak func(*gitlab.Config)) replyEnv {
	t.Helper()
	fake := gitlabtest.New(gitlabtest.Options{CIConfig: replyCI})
	t.Cleanup(fake.Close)
	fake.AddUser("alice", gitlabtest.Developer)
	logs := &bottest.Buffer{}
	cfg := gitlab.Config{URL: fake.URL(), Token: fake.Token, Project: fake.ProjectPath, RetryBackoff: time.Millisecond,
		ExtractWait: time.Second, ExtractInterval: 20 * time.Millisecond, MaxReplyBytes: 1000,
		ReplyFile: gitlab.DefaultReplyFile, Logger: slog.New(slog.NewTextHandler(logs, nil)),
		Identities: map[string]string{"t:alice": "alice"}}
	if tweak != nil {
		tweak(&cfg)
	}
	svc, err := gitlab.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return replyEnv{fake, svc, logs}
}

// finish runs job to its end and reads it as the watcher does.
func (e replyEnv) finish(t *testing.T, job, status string) gitlab.State {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	plan, err := e.svc.Prepare(ctx, gitlab.RunRequest{Job: job, Identity: "t:alice", ChannelID: "C", UserID: "U"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Create(ctx, plan, "run-"+job, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := e.fake.WaitJobStatus(ctx, job, status); err != nil {
		t.Fatal(err)
	}
	ps := e.fake.Pipelines()
	st, err := e.svc.Job(ctx, plan.ProjectID, ps[len(ps)-1].JobIDs[0])
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (e replyEnv) artifactRequests(jobID int64) int {
	return e.fake.Count("GET", fmt.Sprintf("/projects/42/jobs/%d/artifacts/", jobID))
}

func TestFetchReply(t *testing.T) {
	tests := []struct {
		job, status string
		tweak       func(*gitlab.Config)
		artifacts   bool // State.HasArtifacts
		want        joblog.Result
		requests    int // artifact requests
	}{
		{job: "report", status: "success", artifacts: true, requests: 1,
			want: joblog.Result{File: "chat_reply.md", Output: "# Deployed\n\n**v1.4.2** to production"}},
		// A path with a directory and a space, escaped in the URL.
		{job: "nested", status: "success", artifacts: true, requests: 1, tweak: func(c *gitlab.Config) { c.ReplyFile = "./out/my reply.md" },
			want: joblog.Result{File: "out/my reply.md", Output: "nested reply"}},
		// An archive without the file: GitLab's 404, then the log.
		{job: "other", status: "success", artifacts: true, requests: 1, want: joblog.Result{Section: "step_script"}},
		// No artifacts: keyword. The finished job lists its archived log
		// as an artifact ("trace"), which is no archive: no request.
		{job: "plain", status: "success", want: joblog.Result{Section: "step_script"}},
		// Reply files turned off: no request.
		{job: "report", status: "success", artifacts: true, tweak: func(c *gitlab.Config) { c.ReplyFile = "" }, want: joblog.Result{Section: "step_script"}},
		// A failed job answers with its log's tail, as before.
		{job: "failing", status: "failed", artifacts: true, want: joblog.Result{Section: "step_script"}},
		{job: "binary", status: "success", artifacts: true, requests: 1, want: joblog.Result{Section: "step_script", SkippedFile: "chat_reply.md"}},
		// Text that is not UTF-8 is still the reply; Clean shows U+FFFD.
		{job: "latin1", status: "success", artifacts: true, requests: 1, want: joblog.Result{File: "chat_reply.md", Output: "caf\xe9 cr\xe8me"}},
		{job: "empty", status: "success", artifacts: true, requests: 1, want: joblog.Result{File: "chat_reply.md"}},
	}
	for _, tt := range tests {
		t.Run(tt.job, func(t *testing.T) {
			e := newReplyEnv(t, tt.tweak)
			st := e.finish(t, tt.job, tt.status)
			if st.HasArtifacts != tt.artifacts {
				t.Fatalf("HasArtifacts %v, want %v", st.HasArtifacts, tt.artifacts)
			}
			r, err := e.svc.FetchReply(context.Background(), 42, st)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want.Section != "" {
				// From the log: its section and output, as FetchLog says.
				if r.Section != tt.want.Section || !strings.Contains(r.Output, "from the log") || r.File != "" || r.SkippedFile != tt.want.SkippedFile {
					t.Fatalf("reply %+v, want the log's %s (skipped file %q)", r, tt.want.Section, tt.want.SkippedFile)
				}
			} else if r != tt.want {
				t.Fatalf("reply %+v\nwant %+v", r, tt.want)
			}
			if n := e.artifactRequests(st.JobID); n != tt.requests {
				t.Fatalf("%d artifact requests, want %d", n, tt.requests)
			}
		})
	}
}

// A reply file larger than MaxReplyBytes is cut and says how much was:
// a text file keeps its tail, as a long log section does; a Markdown
// document its start.
func TestHugeReplyFileIsCut(t *testing.T) {
	const size = 300000 + len("END") // trailing newline dropped
	for _, tt := range []struct {
		file   string
		end    string // what the kept 1000 bytes end with
		cutEnd bool
	}{
		{"chat_reply.md", "xxxxxxxx", true},
		{"chat_reply.txt", "xxxxxEND", false},
	} {
		t.Run(tt.file, func(t *testing.T) {
			e := newReplyEnv(t, func(c *gitlab.Config) { c.ReplyFile = tt.file })
			st := e.finish(t, "huge", "success")
			r, err := e.svc.FetchReply(context.Background(), 42, st)
			if err != nil {
				t.Fatal(err)
			}
			if r.File != tt.file || len(r.Output) != 1000 || !strings.HasSuffix(r.Output, tt.end) || r.CutBytes != int64(size-1000) || r.CutEnd != tt.cutEnd {
				t.Fatalf("file %q, %d bytes ending %q, cut %d (at the end: %v)", r.File, len(r.Output), r.Output[max(0, len(r.Output)-8):], r.CutBytes, r.CutEnd)
			}
		})
	}
}

func TestIsMarkdown(t *testing.T) {
	for name, want := range map[string]bool{"chat_reply.md": true, "out/REPLY.MD": true, "r.Md": true, "chat_reply.txt": false,
		"chat_reply.markdown": false, "md": false, "reply.md.txt": false, "": false} {
		if got := gitlab.IsMarkdown(name); got != want {
			t.Errorf("IsMarkdown(%q) = %v", name, got)
		}
	}
}

// When the reply file cannot be read, the job still gets its answer, from
// its log, and the error is logged.
func TestReplyFileErrorFallsBackToTheLog(t *testing.T) {
	e := newReplyEnv(t, nil)
	st := e.finish(t, "report", "success")
	e.fake.Fail("GET", fmt.Sprintf("/projects/42/jobs/%d/artifacts/", st.JobID), 10, 500, "")
	r, err := e.svc.FetchReply(context.Background(), 42, st)
	if err != nil {
		t.Fatal(err)
	}
	if r.Section != "step_script" || !strings.Contains(r.Output, "from the log") || r.File != "" {
		t.Fatalf("reply %+v, want the log's", r)
	}
	if !strings.Contains(e.logs.String(), "could not read the job's reply file") {
		t.Fatalf("the error was not logged:\n%s", e.logs.String())
	}
}

func TestReplyFileIsChecked(t *testing.T) {
	for _, name := range []string{"/etc/passwd", "../chat_reply.md", "out/../../x", ".", "out/", "a\x00b"} {
		_, err := gitlab.New(gitlab.Config{URL: "https://gitlab.example.com", Token: "t", Project: "p", ReplyFile: name, Logger: bottest.Quiet()})
		if err == nil || !strings.Contains(err.Error(), "reply_file") {
			t.Errorf("ReplyFile %q: %v", name, err)
		}
	}
}
