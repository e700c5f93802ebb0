package main

import (
	"strings"
	"testing"
)

// TestBinaryDemoIssueAndDeploy drives the issue and deploy commands
// through the terminal adapter of the built binary, in demo mode: the
// simulated GitLab has issues, and a push that deployed staging with
// deploy-production waiting.
func TestBinaryDemoIssueAndDeploy(t *testing.T) {
	bin := buildBinary(t)
	input := "issue show 1\nissue search deploy\nissue new Broken link\nThe docs link 404s.\nissue close 99\ndeploy staging to production\n"
	out, errOut, code := runBinary(t, bin, input)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, w := range []string{
		"#1 Deploy button does nothing on Safari", "State: open", "Labels: bug, frontend", "Assignees: @demo",
		`2 issues in demo/chatops match "deploy"`, "All results in GitLab: ",
		"Issue opened: #4 Broken link",
		"Issue #99 not found in demo/chatops",
		"deploy-production succeeded", "Deploying main (", "Production is up.",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("stdout lacks %q:\n%s", w, out)
		}
	}
}

// TestBinaryDemoMarkdownReply runs the demo's status job, which answers
// with a chat_reply.md it keeps as an artifact: the terminal shows it
// formatted, not as Markdown source.
func TestBinaryDemoMarkdownReply(t *testing.T) {
	bin := buildBinary(t)
	out, errOut, code := runBinary(t, bin, "run status\n")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, w := range []string{"status succeeded", "Status\n------", "service  state\n-------  -----\napi      up", "• queue: *3 jobs* waiting", "`status.sh`"} {
		if !strings.Contains(out, w) {
			t.Errorf("stdout lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "## Status") || strings.Contains(out, "Checking the services") {
		t.Errorf("the Markdown source or the log was shown:\n%s", out)
	}
}
