package gitlab_test

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
)

// hugeLog streams a runner log of size bytes without holding it.
type hugeLog struct{ left, line int }

func (h *hugeLog) Read(p []byte) (int, error) {
	const line = "2024-11-22T09:00:00.100000Z 01O compiling package with a long enough line of output\n"
	if h.left <= 0 {
		return 0, io.EOF
	}
	n := 0
	if h.line == 0 {
		n = copy(p, "section_start:1:step_script\r\x1b[0K\x1b[36;1mExecuting \"step_script\" stage of the job script\x1b[0;m\n")
		h.line++
	}
	for n+len(line) <= len(p) && h.left > 0 {
		n += copy(p[n:], line)
		h.left -= len(line)
	}
	if h.left <= 0 && n+64 <= len(p) {
		n += copy(p[n:], "section_end:2:step_script\r\x1b[0K\x1b[32;1mJob succeeded\x1b[0;m\n")
	}
	return n, nil
}

// BenchmarkReplyFrom100MBLog runs a job whose log is 100 MB through the
// whole service and reports the peak heap seen while it replied: memory is
// bounded by the reply, not by the log.
func BenchmarkReplyFrom100MBLog(b *testing.B) {
	fake := gitlabtest.New(gitlabtest.Options{CIConfig: "big:\n  rules:\n    - if: $CHATOPS_JOB == \"big\"\n  script:\n    - \"true\"\n"})
	defer fake.Close()
	fake.AddUser("alice", gitlabtest.Developer)
	const size = 100 << 20
	fake.SetTraceSource("big", func() io.Reader { return &hugeLog{left: size} })
	svc, err := gitlab.New(gitlab.Config{URL: fake.URL(), Token: fake.Token, Project: fake.ProjectPath,
		Identities: map[string]string{"t:U1": "alice"},
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	var peak uint64
	for b.Loop() {
		runtime.GC()
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() { // sample the heap while the run streams the log
			defer close(done)
			var ms runtime.MemStats
			for {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
			}
		}()
		rep, err := runToReply(context.Background(), svc, fake, "big")
		close(stop)
		<-done
		if err != nil {
			b.Fatal(err)
		}
		if rep.Status != bot.StatusSuccess || !strings.Contains(rep.CodeNote, "cut") {
			b.Fatalf("reply %+v", rep.Title)
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}

// runToReply is the GitLab side of one run, as the run plugin drives it:
// check, create, wait for the job, stream its log, render the answer.
func runToReply(ctx context.Context, svc *gitlab.Service, fake *gitlabtest.Server, job string) (bot.Reply, error) {
	plan, err := svc.Prepare(ctx, gitlab.RunRequest{Job: job, Identity: "t:U1", ChannelID: "C", UserID: "U1"})
	if err != nil {
		return bot.Reply{}, err
	}
	st, err := svc.Create(ctx, plan, "run-1", time.Now())
	if err != nil {
		return bot.Reply{}, err
	}
	if err := fake.WaitJobStatus(ctx, job, "success"); err != nil {
		return bot.Reply{}, err
	}
	final, err := svc.Job(ctx, plan.ProjectID, st.JobID)
	if err != nil {
		return bot.Reply{}, err
	}
	log, err := svc.FetchLog(ctx, plan.ProjectID, st.JobID, true)
	if err != nil {
		return bot.Reply{}, err
	}
	return gitlab.Result(gitlab.Outcome{Job: job, Status: final.Status, PipelineID: st.PipelineID, Log: log}), nil
}
