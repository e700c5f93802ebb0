package run_test

import (
	"strings"
	"testing"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/plugins/run/policy"
)

// TestReviewConfirmKeepsChatVariables: a confirm = true job that takes
// variables from chat must run, once confirmed, with the variables the
// requester gave (the question itself validated and showed them).
func TestReviewConfirmKeepsChatVariables(t *testing.T) {
	e := policyEnv(t, map[string]policy.Rule{"greet": {Confirm: true, Variables: []string{"VERSION"}}}, nil)
	_, code := ask(t, e, "U-alice", "C1", "run greet Ada VERSION=1.2")
	if r, _ := e.say("U-alice", "C1", "confirm "+code); r.Status != bot.StatusSuccess {
		t.Fatalf("confirmation: %q / %q", r.Title, r.Text)
	}
	pls := e.gl.Pipelines()
	if len(pls) != 1 {
		t.Fatalf("%d pipelines", len(pls))
	}
	if v := pls[0].Variables; v["VERSION"] != "1.2" || strings.Contains(v["CHAT_INPUT"], "VERSION") {
		t.Fatalf("confirmed run lost the chat variable: VERSION=%q CHAT_INPUT=%q (want VERSION=1.2, CHAT_INPUT=Ada)", v["VERSION"], v["CHAT_INPUT"])
	}
}
