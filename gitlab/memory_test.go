package gitlab_test

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync/atomic"
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

type nullResponder struct{ last atomic.Value }

func (r *nullResponder) Reply(_ context.Context, rep bot.Reply) (bot.Sent, error) {
	r.last.Store(rep)
	return bot.Sent{ID: "1"}, nil
}
func (r *nullResponder) Update(ctx context.Context, _ bot.Sent, rep bot.Reply) (bot.Sent, error) {
	return r.Reply(ctx, rep)
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
		PollInterval: 10 * time.Millisecond, Identities: map[string]string{"t:U1": "alice"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
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
		w := &nullResponder{}
		err := svc.Run(context.Background(), w, gitlab.RunRequest{Job: "big", Identity: "t:U1", ChannelID: "C", UserID: "U1"})
		close(stop)
		<-done
		if err != nil {
			b.Fatal(err)
		}
		if rep := w.last.Load().(bot.Reply); rep.Status != bot.StatusSuccess || !strings.Contains(rep.CodeNote, "cut") {
			b.Fatalf("reply %+v", rep.Title)
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}
