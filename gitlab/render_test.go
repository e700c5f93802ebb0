package gitlab

import (
	"github.com/chatops-dev/chatops/bot/bottest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/gitlab/joblog"
)

func TestRenderGolden(t *testing.T) {
	base := Outcome{Job: "deploy", User: "alice", PipelineID: 12, PipelineURL: "https://gitlab.example.com/ops/app/-/pipelines/12",
		JobURL: "https://gitlab.example.com/ops/app/-/jobs/34", Duration: 83 * time.Second, Timeout: time.Hour, RunID: "3f9a1c"}
	with := func(f func(*Outcome)) Outcome { o := base; f(&o); return o }
	tests := map[string]Outcome{
		"created": with(func(o *Outcome) { o.Status, o.JobURL, o.Duration = "created", "", 0 }),
		"running": with(func(o *Outcome) {
			o.Status = "running"
			o.Notes = []string{"The pipeline also runs lint: their rules do not exclude chatops pipelines."}
		}),
		"success":   with(func(o *Outcome) { o.Status, o.Log = "success", joblog.Extract(successLog) }),
		"empty":     with(func(o *Outcome) { o.Status, o.Log = "success", joblog.Result{Section: "chat_reply"} }),
		"nosection": with(func(o *Outcome) { o.Status = "success" }),
		"cut": with(func(o *Outcome) {
			o.Status, o.Log = "success", joblog.Result{Section: "step_script", Output: "last line", CutBytes: 3 << 20}
		}),
		"file": with(func(o *Outcome) {
			o.Status, o.Log = "success", joblog.Result{File: "chat_reply.md", Output: "# Deployed\n\n**v1.4.2** to \x1b[1mproduction\x1b[0m\r\ncaf\xe9"}
		}),
		"file-cut": with(func(o *Outcome) {
			o.Status, o.Log = "success", joblog.Result{File: "reports/chat.md", Output: "| total | 42 |", CutBytes: 200 << 10, CutEnd: true}
		}),
		// Not Markdown: shown as the log's output is.
		"file-txt": with(func(o *Outcome) {
			o.Status, o.Log = "success", joblog.Result{File: "chat_reply.txt", Output: "# not a heading\n**as written** @channel"}
		}),
		"file-txt-cut": with(func(o *Outcome) {
			o.Status, o.Log = "success", joblog.Result{File: "out/REPORT.TXT", Output: "last line", CutBytes: 200 << 10}
		}),
		"file-empty": with(func(o *Outcome) { o.Status, o.Log = "success", joblog.Result{File: "chat_reply.md"} }),
		"file-skipped": with(func(o *Outcome) {
			o.Status, o.Log = "success", joblog.Extract(successLog)
			o.Log.SkippedFile = "chat_reply.md"
		}),
		"failed":   with(func(o *Outcome) { o.Status, o.Log = "failed", joblog.Extract(failedLog) }),
		"canceled": with(func(o *Outcome) { o.Status = "canceled" }),
		"timeout":  with(func(o *Outcome) { o.Status = "timeout" }),
	}
	for name, o := range tests {
		t.Run(name, func(t *testing.T) {
			r := Result(o)
			if o.Status == "created" || o.Status == "running" {
				r = Progress(o)
			}
			got := "status: " + r.Status.String() + "\n" + r.Plain() + "\n"
			if r.Markdown != "" {
				got += "markdown: " + strconv.Quote(r.Markdown) + "\n"
			}
			path := filepath.Join("testdata", "golden", name+".txt")
			bottest.Golden(t, path, got)
		})
	}
}

const successLog = "section_start:1:step_script\r\x1b[0K\x1b[0K\x1b[36;1mExecuting \"step_script\" stage of the job script\x1b[0;m\n" +
	"\x1b[32;1m$ ./deploy.sh production\x1b[0;m\n2024-11-22T09:00:00.100000Z 01O rolling out 10%\r100%\nDeployed \x1b[1mv1.4.2\x1b[0m to production\n" +
	"section_end:1:step_script\r\x1b[0K\x1b[32;1mJob succeeded\x1b[0;m\n"

const failedLog = "section_start:1:step_script\r\x1b[0K\x1b[0K\x1b[36;1mExecuting \"step_script\" stage of the job script\x1b[0;m\n" +
	"\x1b[32;1m$ ./deploy.sh production\x1b[0;m\nerror: database migration 42 failed\nsection_end:1:step_script\r\x1b[0K\x1b[31;1mERROR: Job failed: exit code 1\x1b[0;m\n"

// A job's log is never Markdown, even a chat_reply section that looks
// like it: only a reply file named *.md is.
func TestLogOutputIsNeverMarkdown(t *testing.T) {
	for _, log := range []joblog.Result{
		{Section: "chat_reply", Output: "# Deployed\n\n**@channel**"},
		{Section: "step_script", Output: "# Deployed"},
	} {
		r := Result(Outcome{Job: "deploy", Status: "success", Log: log})
		if r.Markdown != "" || r.Code == "" {
			t.Errorf("log %+v: Markdown %q, Code %q", log, r.Markdown, r.Code)
		}
	}
	r := Result(Outcome{Job: "deploy", Status: "failed", Log: joblog.Result{File: "chat_reply.md", Output: "# x", Tail: "# error"}})
	if r.Markdown != "" || r.Code != "# error" {
		t.Errorf("a failed job: Markdown %q, Code %q", r.Markdown, r.Code)
	}
}
