package run_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/bottest"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
	"github.com/chatops-dev/chatops/plugins/run/policy"
)

// policyEnv is newEnv with a Maintainer "mark" and the job rules given.
func policyEnv(t *testing.T, rules map[string]policy.Rule, tweak func(*config)) *env {
	t.Helper()
	e := newEnv(t, func(c *config) {
		c.manual = true
		c.run.Policy = policy.Set{Global: rules}
		c.gitlab.Identities["test:U-mark"] = "mark"
		if tweak != nil {
			tweak(c)
		}
	})
	e.gl.AddUser("mark", gitlabtest.Maintainer)
	e.start()
	return e
}

func wantRefusal(t *testing.T, r bot.Reply, phrase string) {
	t.Helper()
	if r.Status != bot.StatusError || !strings.Contains(r.Title+" "+r.Text, phrase) {
		t.Fatalf("reply %q / %q, want a refusal saying %q", r.Title, r.Text, phrase)
	}
}

func TestPolicyDeveloperRefusedMaintainerJob(t *testing.T) {
	e := policyEnv(t, map[string]policy.Rule{"hello-world": {MinRole: "maintainer"}}, nil)
	r, _ := e.say("U-alice", "C1", "run hello-world")
	wantRefusal(t, r, "min_role rule needs the Maintainer role")
	if n := len(e.gl.Pipelines()); n != 0 {
		t.Fatalf("%d pipelines created by a refused run", n)
	}
	if r, _ := e.say("U-mark", "C2", "run hello-world"); r.Status != bot.StatusSuccess {
		t.Fatalf("maintainer: %q / %q", r.Title, r.Text)
	}
}

func TestPolicyChannelRestriction(t *testing.T) {
	e := policyEnv(t, map[string]policy.Rule{"hello-world": {Channels: []string{"test:C-ops"}}}, nil)
	r, _ := e.say("U-alice", "C-dev", "run hello-world")
	wantRefusal(t, r, "channels rule allows it only in test:C-ops")
	if r, _ := e.say("U-alice", "C-ops", "run hello-world"); r.Status != bot.StatusSuccess {
		t.Fatalf("in its channel: %q / %q", r.Title, r.Text)
	}
}

func TestPolicyGroupRule(t *testing.T) {
	e := policyEnv(t, map[string]policy.Rule{"hello-world": {Groups: []string{"platform/ops"}}}, nil)
	e.gl.AddGroupMember("platform", "mark", gitlabtest.Developer) // inherited by platform/ops
	e.gl.AddGroup("platform/ops")
	r, _ := e.say("U-alice", "C1", "run hello-world")
	wantRefusal(t, r, "groups rule needs membership of platform/ops")
	if r, _ := e.say("U-mark", "C2", "run hello-world"); r.Status != bot.StatusSuccess {
		t.Fatalf("group member: %q / %q", r.Title, r.Text)
	}
}

func TestJobListShowsOnlyWhatMayRunHere(t *testing.T) {
	e := policyEnv(t, map[string]policy.Rule{
		"hello-world": {MinRole: "maintainer"},
		"greet":       {Channels: []string{"test:C-ops"}},
	}, nil)
	r, _ := e.say("U-alice", "C1", "run")
	if strings.Contains(r.Text, "hello-world") || strings.Contains(r.Text, "greet") || !strings.Contains(r.Text, "fail") {
		t.Errorf("alice in C1 sees:\n%s", r.Text)
	}
	r, _ = e.say("U-mark", "C-ops", "run")
	if !strings.Contains(r.Text, "hello-world") || !strings.Contains(r.Text, "greet") {
		t.Errorf("mark in C-ops sees:\n%s", r.Text)
	}
}

// ask runs a confirm = true job as user in channel and returns the
// question's action id and code.
func ask(t *testing.T, e *env, user, channel, text string) (action, code string) {
	t.Helper()
	r, _ := e.say(user, channel, text)
	if len(r.Actions) != 1 || !strings.HasPrefix(r.Actions[0].ID, "confirm:") {
		t.Fatalf("no confirmation asked: %q / %q %+v", r.Title, r.Text, r.Actions)
	}
	action = r.Actions[0].ID
	code = strings.TrimPrefix(action, "confirm:")
	if !strings.Contains(r.Text, "confirm "+code) || !strings.Contains(r.Plain(), "Arguments: Ada") {
		t.Fatalf("the question does not say what runs or how to confirm by typing:\n%s", r.Plain())
	}
	if n := len(e.gl.Pipelines()); n != 0 {
		t.Fatalf("%d pipelines created before the confirmation", n)
	}
	return action, code
}

func click(e *env, user, channel, action string) {
	e.chat.Deliver(bot.Message{Platform: "test", Action: action, Addressed: true,
		Sender: bot.User{ID: user}, Conversation: bot.Conversation{ChannelID: channel}})
}

func confirmEnv(t *testing.T, tweak func(*config)) *env {
	return policyEnv(t, map[string]policy.Rule{"greet": {Confirm: true}}, tweak)
}

func TestConfirmByClick(t *testing.T) {
	e := confirmEnv(t, nil)
	action, _ := ask(t, e, "U-alice", "C1", "run greet Ada")
	click(e, "U-mark", "C1", action)
	// Answered privately: the recording chat has no ephemeral replies
	// but opens direct conversations, as Mattermost.
	r, ok := e.chat.WaitFor(bottest.DirectChannel("U-mark"), func(r bot.Reply) bool { return r.Status == bot.StatusError }, 10*time.Second)
	if !ok || !strings.Contains(r.Title, "Not yours") {
		t.Fatalf("someone else's click: %q / %q", r.Title, r.Text)
	}
	for _, m := range e.chat.Messages("C1") {
		if strings.Contains(m.Title, "Not yours") {
			t.Fatalf("the refusal of someone else's click was posted in the channel")
		}
	}
	click(e, "U-alice", "C1", action)
	r, ok = e.chat.WaitFor("C1", func(r bot.Reply) bool { return r.Status == bot.StatusSuccess }, 10*time.Second)
	if !ok || !strings.Contains(r.Code, "[Ada] by U-alice in C1") {
		t.Fatalf("confirmed run: %q\n%s", r.Title, r.Code)
	}
}

func TestConfirmTyped(t *testing.T) {
	e := confirmEnv(t, nil)
	_, code := ask(t, e, "U-alice", "C1", "run greet Ada")
	if r, _ := e.say("U-alice", "C1", "confirm "+strings.ToLower(code)); r.Status != bot.StatusSuccess {
		t.Fatalf("typed confirmation: %q / %q", r.Title, r.Text)
	}
}

func TestConfirmElsewhereRefused(t *testing.T) {
	e := confirmEnv(t, nil)
	_, code := ask(t, e, "U-alice", "C1", "run greet Ada")
	r, _ := e.say("U-alice", "C2", "confirm "+code)
	wantRefusal(t, r, "Confirm where you asked")
	if n := len(e.gl.Pipelines()); n != 0 {
		t.Fatalf("%d pipelines", n)
	}
}

func TestConfirmExpires(t *testing.T) {
	e := confirmEnv(t, func(c *config) { c.run.ConfirmFor = time.Microsecond })
	_, code := ask(t, e, "U-alice", "C1", "run greet Ada")
	r, _ := e.say("U-alice", "C1", "confirm "+code)
	wantRefusal(t, r, "expired")
	if n := len(e.gl.Pipelines()); n != 0 {
		t.Fatalf("%d pipelines created by an expired confirmation", n)
	}
}

func TestConfirmSurvivesRestart(t *testing.T) {
	e := confirmEnv(t, nil)
	action, _ := ask(t, e, "U-alice", "C1", "run greet Ada")
	e.stop()
	e.start() // a new process on the same database
	click(e, "U-alice", "C1", action)
	r, ok := e.chat.WaitFor("C1", func(r bot.Reply) bool { return r.Status == bot.StatusSuccess }, 10*time.Second)
	if !ok || !strings.Contains(r.Code, "[Ada]") {
		t.Fatalf("after a restart: %q / %q", r.Title, r.Text)
	}
}

func TestDoubleClickRunsOnce(t *testing.T) {
	e := confirmEnv(t, nil)
	action, _ := ask(t, e, "U-alice", "C1", "run greet Ada")
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { click(e, "U-alice", "C1", action) })
	}
	wg.Wait()
	ran, refused := 0, 0
	_, ok := e.chat.WaitFor("C1", func(r bot.Reply) bool {
		switch {
		case r.Status == bot.StatusSuccess:
			ran++
		case r.Status == bot.StatusError && strings.Contains(r.Title, "No confirmation"):
			refused++
		}
		return ran == 1 && refused == 2
	}, 10*time.Second)
	if !ok {
		t.Fatalf("%d runs and %d refusals, want 1 and 2", ran, refused)
	}
	if n := len(e.gl.Pipelines()); n != 1 {
		t.Fatalf("%d pipelines after a triple click, want 1", n)
	}
}

// TestRetryAsksAgain: retry is a new run, so a confirm = true job asks
// again instead of running at once.
func TestRetryAsksAgain(t *testing.T) {
	e := confirmEnv(t, nil)
	_, code := ask(t, e, "U-alice", "C1", "run greet Ada")
	if r, _ := e.say("U-alice", "C1", "confirm "+code); r.Status != bot.StatusSuccess {
		t.Fatalf("confirmation: %q / %q", r.Title, r.Text)
	}
	e.chat.Say("U-alice", "C1", "retry")
	r, ok := e.chat.WaitFor("C1", func(r bot.Reply) bool { return len(r.Actions) > 0 || r.Status == bot.StatusError }, 10*time.Second)
	if !ok || len(r.Actions) != 1 {
		t.Fatalf("retry did not ask: %q / %q", r.Title, r.Text)
	}
	if n := len(e.gl.Pipelines()); n != 1 {
		t.Fatalf("%d pipelines, want the first only", n)
	}
}

// A job's policy may let chat set named pipeline variables: NAME=value
// words become variables of their own, CHAT_INPUT keeps the other words
// as typed, and a misspelt name is refused before anything runs.
func TestPolicyChatVariables(t *testing.T) {
	e := policyEnv(t, map[string]policy.Rule{"greet": {Variables: []string{"VERSION", "NOTE"}}}, nil)
	r, _ := e.say("U-alice", "C1", `run greet production VERSION=1.2 NOTE="two words" size=big`)
	if r.Status != bot.StatusSuccess {
		t.Fatalf("run = %q / %q", r.Title, r.Text)
	}
	pls := e.gl.Pipelines()
	if len(pls) != 1 {
		t.Fatalf("%d pipelines", len(pls))
	}
	v := pls[0].Variables
	if v["VERSION"] != "1.2" || v["NOTE"] != "two words" || v["CHAT_INPUT"] != "production size=big" {
		t.Errorf("pipeline variables %v", v)
	}
	if _, ok := v["size"]; ok {
		t.Errorf("size=big became a variable: %v", v)
	}
	for _, tt := range []struct{ args, phrase string }{
		{"run greet VERSON=1.2", "greet takes no variable VERSON"},
		{"run greet VERSION=1 VERSION=2", "VERSION is given twice"},
		{`run greet VERSION="1.2`, "quote is not closed"},
	} {
		r, _ := e.say("U-alice", "C1", tt.args)
		wantRefusal(t, r, tt.phrase)
	}
	if n := len(e.gl.Pipelines()); n != 1 {
		t.Fatalf("%d pipelines after refused runs, want 1", n)
	}
	if r, _ := e.say("U-alice", "C1", "run"); !strings.Contains(r.Text, "greet (takes VERSION=…, NOTE=…)") {
		t.Errorf("the job list does not say what greet takes:\n%s", r.Text)
	}
	// A job that takes no variables passes the words on as text only,
	// however they look.
	r, _ = e.say("U-alice", "C1", "run hello-world VERSION=9")
	if r.Status != bot.StatusSuccess {
		t.Fatalf("hello-world: %q / %q", r.Title, r.Text)
	}
	if v := e.gl.Pipelines()[1].Variables; v["VERSION"] != "" || v["CHAT_INPUT"] != "VERSION=9" {
		t.Errorf("hello-world's variables %v", v)
	}
}

// TestConfirmKeepsChatVariables: a confirm = true job that takes
// variables from chat runs, once confirmed, with the variables the
// requester gave (the question validated and showed them), not with the
// job's defaults.
func TestConfirmKeepsChatVariables(t *testing.T) {
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
