package run_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chatops-dev/chatops/adapters/discord"
	"github.com/chatops-dev/chatops/adapters/mattermost"
	"github.com/chatops-dev/chatops/adapters/shell"
	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/bottest"
)

// A job that writes chat_reply.md and keeps it as an artifact is answered
// with the file as formatted text, not its log; a job without artifacts
// costs no artifact request. The golden file shows the answer as the
// Mattermost, Discord and terminal adapters render it: a heading, bold,
// emphasis, a list, and a @channel that pings nobody.
func TestReplyFromAFile(t *testing.T) {
	e := newEnv(t, nil)
	r, n := e.say("U-alice", "C1", "run report production")
	const md = "# Deployed to production\n\n**v1.4.2** is live, smoke tests passed:\n\n- api is **up**\n- web is _up_\n\ncc @channel"
	if r.Status != bot.StatusSuccess || r.Markdown != md || r.Code != "" {
		t.Fatalf("reply %q: Markdown %q, Code %q (the log's output would say \"from the log\")", r.Title, r.Markdown, r.Code)
	}
	if n != 1 {
		t.Fatalf("%d messages: the answer must be edited into the progress reply", n)
	}
	r = stableReply(e, r)
	rendered := "--- mattermost\n" + mattermost.Render(r, "chatops") + "\n--- discord\n" + discord.Render(r) + "\n--- terminal\n" + shell.Render(r, false) + "\n"
	bottest.Golden(t, filepath.Join("testdata", "golden", "reply_file.txt"), rendered)
	if got := e.gl.Count("GET", fmt.Sprintf("/projects/42/jobs/%d/artifacts/", e.gl.Pipelines()[0].JobIDs[0])); got != 1 {
		t.Fatalf("%d artifact requests for the job, want 1", got)
	}

	r, _ = e.say("U-alice", "C2", "run hello-world")
	if !strings.Contains(r.Code, "Hello World") {
		t.Fatalf("hello-world reply %q", r.Code)
	}
	if got := artifactRequests(e); got != 1 {
		t.Fatalf("%d artifact requests after a job without artifacts, want still 1", got)
	}
}

// artifactRequests counts the requests for artifact files.
func artifactRequests(e *env) int {
	n := 0
	for _, r := range e.gl.Requests() {
		if r.Method == "GET" && strings.Contains(r.Path, "/artifacts/") {
			n++
		}
	}
	return n
}

// stableReply is r with what changes from run to run (the run's id, the
// fake's port, the duration) replaced, for a golden file.
func stableReply(e *env, r bot.Reply) bot.Reply {
	r.Fields = slices.Clone(r.Fields)
	r.Links = slices.Clone(r.Links)
	for i, f := range r.Fields {
		switch f.Name {
		case "Run":
			r.Fields[i].Value = "<run>"
		case "Duration":
			r.Fields[i].Value = "<duration>"
		}
	}
	for i := range r.Links {
		r.Links[i].URL = strings.Replace(r.Links[i].URL, e.gl.URL(), "https://gitlab.example.com", 1)
	}
	return r
}
