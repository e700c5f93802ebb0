package run_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
	"github.com/chatops-dev/chatops/plugins/run"
	"github.com/chatops-dev/chatops/store"
)

// The api project's tag v1.0 has a greet job that says which ref it is.
const apiTagCI = `
hello-world:
  rules:
    - if: $CHATOPS_JOB == "hello-world"
  script:
    - echo "hello from $CI_COMMIT_REF_NAME"
`

// projectsEnv serves three projects: the default demo/chatops, group/api
// (alias api, refs v*, bound to channel C-api) and group/infra (alias
// infra, its own project token). alice is a Developer in the default and
// api but only a Guest in infra; mia is a Maintainer everywhere; dev is a
// Developer everywhere.
type projectsEnv struct {
	*env
	api, infra *gitlabtest.Project
	infraToken string
}

func newProjectsEnv(t *testing.T, withDefault bool) *projectsEnv {
	e := newEnv(t, func(c *config) {
		c.manual = true
		c.gitlab.Identities["test:U-mia"] = "mia"
		c.gitlab.Identities["test:U-dev"] = "dev"
	})
	pe := &projectsEnv{env: e}
	pe.api = e.gl.AddProject("group/api", testCI)
	pe.api.AddRef("v1.0", apiTagCI, true)
	pe.api.AddRef("feature", apiTagCI, false)
	pe.infra = e.gl.AddProject("group/infra", testCI)
	pe.infraToken = pe.infra.AddToken()
	e.gl.AddUser("mia", gitlabtest.Maintainer)
	e.gl.AddUser("dev", gitlabtest.Developer)
	for _, p := range []*gitlabtest.Project{pe.api, pe.infra} {
		p.AddMember("mia", gitlabtest.Maintainer)
		p.AddMember("dev", gitlabtest.Developer)
	}
	pe.api.AddMember("alice", gitlabtest.Developer)
	pe.infra.AddMember("alice", gitlabtest.Guest)

	svc := func(path, token string, refs []string) *gitlab.Service {
		cfg := e.cfg.gitlab
		cfg.Project, cfg.Refs = path, refs
		if token != "" {
			cfg.Token = token
		}
		s, err := gitlab.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	var projects []run.Project
	if withDefault {
		projects = append(projects, run.Project{Path: e.gl.ProjectPath, GitLab: svc(e.gl.ProjectPath, "", nil), Default: true})
	}
	projects = append(projects,
		run.Project{Alias: "api", Path: "group/api", GitLab: svc("group/api", "", []string{"v*"}), Channels: []string{"test:C-api"}},
		run.Project{Alias: "infra", Path: "group/infra", GitLab: svc("group/infra", pe.infraToken, nil)})
	e.cfg.run.Projects = projects
	e.start()
	return pe
}

func TestManyProjectsAddressing(t *testing.T) {
	e := newProjectsEnv(t, true)
	tests := []struct {
		name, user, channel, text, project, token string
	}{
		{"default project", "U-alice", "C1", "run hello-world", "demo/chatops", "glpat-test"},
		{"alias", "U-alice", "C2", "api run hello-world", "group/api", "glpat-test"},
		{"path", "U-alice", "C3", "group/api run hello-world", "group/api", "glpat-test"},
		{"bound channel", "U-alice", "C-api", "run hello-world", "group/api", "glpat-test"},
		{"project token", "U-mia", "C4", "infra run hello-world", "group/infra", e.infraToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.gl.Pipelines())
			r, _ := e.say(tt.user, tt.channel, tt.text)
			if r.Status != bot.StatusSuccess {
				t.Fatalf("reply %q: %q", r.Title, r.Text)
			}
			ps := e.gl.Pipelines()
			if len(ps) != before+1 {
				t.Fatalf("%d new pipelines", len(ps)-before)
			}
			if p := ps[len(ps)-1]; p.Project != tt.project || p.Token != tt.token {
				t.Fatalf("pipeline in %s created with token %q, want %s with %q", p.Project, p.Token, tt.project, tt.token)
			}
		})
	}
}

func TestManyProjectsRefusals(t *testing.T) {
	e := newProjectsEnv(t, true)
	tests := []struct{ name, user, channel, text, title, advice string }{
		{"guest in infra", "U-alice", "C1", "infra run hello-world", "may not run jobs in group/infra", "Developer"},
		{"ref not allowed", "U-alice", "C1", "api run hello-world@feature", "Ref feature is not allowed in group/api", "v*"},
		{"ref unknown", "U-alice", "C1", "api run hello-world@v9.9", "Ref v9.9 not found in group/api", "v*"},
		{"ref on the default project", "U-alice", "C1", "run hello-world@v1.0", "not allowed", "default branch"},
		{"project without a subcommand", "U-alice", "C1", "api deploy", "What should I do in api?", "api run <job>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.gl.Pipelines())
			r, _ := e.say(tt.user, tt.channel, tt.text)
			if r.Status != bot.StatusError || !strings.Contains(r.Title, tt.title) || !strings.Contains(r.Text, tt.advice) {
				t.Fatalf("reply %q / %q, want %q / %q", r.Title, r.Text, tt.title, tt.advice)
			}
			if n := len(e.gl.Pipelines()) - before; n != 0 {
				t.Fatalf("%d pipelines created by a refused run", n)
			}
		})
	}
}

func TestRunOnAnAllowedTag(t *testing.T) {
	e := newProjectsEnv(t, true)
	r, _ := e.say("U-alice", "C1", "api run hello-world@v1.0")
	if r.Status != bot.StatusSuccess || !strings.Contains(r.Code, "hello from v1.0") {
		t.Fatalf("reply %q: %q (the job must come from the tag's CI configuration)", r.Title, r.Code)
	}
	ps := e.gl.Pipelines()
	if p := ps[len(ps)-1]; p.Ref != "v1.0" {
		t.Fatalf("pipeline on %q", p.Ref)
	}
	if !hasField(r, "Job", "hello-world@v1.0") {
		t.Fatalf("fields %+v do not name the ref", r.Fields)
	}
}

func TestNoDefaultProjectListsThem(t *testing.T) {
	e := newProjectsEnv(t, false)
	r, _ := e.say("U-alice", "C1", "run hello-world")
	if r.Title != "Which project?" || !strings.Contains(r.Text, "api (group/api)") || !strings.Contains(r.Text, "infra (group/infra)") {
		t.Fatalf("reply %q / %q", r.Title, r.Text)
	}
	r, _ = e.say("U-alice", "C-api", "run hello-world")
	if r.Status != bot.StatusSuccess {
		t.Fatalf("bound channel: %q / %q", r.Title, r.Text)
	}
	r, _ = e.say("U-alice", "C2", "projects")
	if !strings.Contains(r.Text, "api (group/api), bound to test:C-api") || strings.Contains(r.Text, "infra") {
		t.Fatalf("projects for alice (a Guest in infra) = %q", r.Text)
	}
}

func TestRunsCancelRetry(t *testing.T) {
	e := newProjectsEnv(t, true)
	e.gl.Block("slow")
	e.chat.Say("U-alice", "C1", "run slow please")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.gl.WaitJobStatus(ctx, "slow", "running"); err != nil {
		t.Fatal(err)
	}
	// The progress reply links the pipeline once the run has recorded it.
	if _, ok := e.chat.WaitFor("C1", func(r bot.Reply) bool { return len(r.Links) > 0 }, 10*time.Second); !ok {
		t.Fatal("the progress reply never linked the pipeline")
	}
	r, _ := e.say("U-alice", "C1", "runs")
	if !strings.Contains(r.Title, "1 open run") || !strings.Contains(r.Text, "slow") || !strings.Contains(r.Text, "test:U-alice") {
		t.Fatalf("runs = %q / %q", r.Title, r.Text)
	}
	id := strings.Fields(r.Text)[0]

	// A Developer who did not start it may not cancel it.
	r, _ = e.say("U-dev", "C1", "cancel "+id)
	if r.Status != bot.StatusError || !strings.Contains(r.Title, "may not cancel") {
		t.Fatalf("cancel by another Developer: %q / %q", r.Title, r.Text)
	}
	// A Maintainer may; the run's own reply then says who canceled it.
	// The cancel command's own answer and the run's edited reply come
	// from two goroutines, in either order: wait for both, so neither is
	// read later as the answer to retry.
	e.chat.Say("U-mia", "C1", "cancel "+id)
	var final bot.Reply
	acked, canceled := false, false
	_, ok := e.chat.WaitFor("C1", func(r bot.Reply) bool {
		switch {
		case r.Title == "slow was canceled":
			final, canceled = r, true
		case strings.HasPrefix(r.Title, "Canceling slow"):
			acked = true
		}
		return acked && canceled
	}, 10*time.Second)
	if !ok {
		t.Fatalf("no cancel answer and canceled run reply (answer %v, run %v): %+v", acked, canceled, e.chat.Messages("C1"))
	}
	if !strings.Contains(final.Text, "Canceled from chat by test:U-mia") {
		t.Fatalf("the run's reply does not say who canceled it: %q", final.Text)
	}
	// retry: the same job and arguments as a new run.
	e.gl.Unblock("slow")
	before := len(e.gl.Pipelines())
	r, _ = e.say("U-alice", "C1", "retry "+id)
	ps := e.gl.Pipelines()
	if len(ps) != before+1 || ps[len(ps)-1].Variables["CHAT_INPUT"] != "please" || r.Status != bot.StatusSuccess {
		t.Fatalf("retry: %q, %d new pipelines, vars %v", r.Title, len(ps)-before, ps[len(ps)-1].Variables)
	}
}

func TestRateLimitedCreateIsWaitedOut(t *testing.T) {
	e := newEnv(t, nil)
	e.gl.Fail("POST", "/projects/42/pipeline", 1, 429, "1")
	r, _ := e.say("U-alice", "C1", "run hello-world")
	if r.Status != bot.StatusSuccess {
		t.Fatalf("reply %q / %q", r.Title, r.Text)
	}
	if n := len(e.gl.Pipelines()); n != 1 {
		t.Fatalf("%d pipelines", n)
	}
	if n := e.gl.Count("POST", "/projects/42/pipeline"); n != 2 {
		t.Fatalf("%d create requests, want the refused one and one more", n)
	}
	for _, req := range e.gl.Requests() {
		if strings.HasSuffix(req.Path, "/variables") {
			t.Fatalf("a 429 is not ambiguous, yet the bot looked for the pipeline: %s", req.Path)
		}
	}
}

func TestTimestampedLogContinuationsAreJoined(t *testing.T) {
	e := newEnv(t, nil)
	log := "2024-05-01T10:00:00.000001Z 00O section_start:1:step_script\r\x1b[0KExecuting \"step_script\" stage of the job script\n" +
		"2024-05-01T10:00:00.000002Z 01O $ ./report.sh\n" +
		"2024-05-01T10:00:00.000003Z 01O a very long line that the runner \n" +
		"2024-05-01T10:00:00.000004Z 01O+flushed in two records\n" +
		"2024-05-01T10:00:00.000005Z 01O done\n" +
		"2024-05-01T10:00:00.000006Z 00O section_end:1:step_script\r\x1b[0K\n"
	e.gl.SetTraceSource("hello-world", func() io.Reader { return strings.NewReader(log) })
	r, _ := e.say("U-alice", "C1", "run hello-world")
	if r.Code != "$ ./report.sh\na very long line that the runner flushed in two records\ndone" {
		t.Fatalf("output %q", r.Code)
	}
}

func hasField(r bot.Reply, name, value string) bool {
	for _, f := range r.Fields {
		if f.Name == name && f.Value == value {
			return true
		}
	}
	return false
}

// `<project> runs` lists that project's open runs here even when the
// conversation holds more open runs of other projects than one listing
// shows.
func TestProjectRunsAmongManyOfAnotherProject(t *testing.T) {
	e := newProjectsEnv(t, true)
	ctx := context.Background()
	// Runs another process follows (its lease far off), so this one's
	// watcher leaves them be.
	mk := func(id, project string) {
		r := &store.Run{ID: id, Kind: "run", Platform: "test", ChannelID: "C1", Requester: "test:U-alice", UserID: "U-alice",
			Project: project, Job: "slow", Phase: store.PhaseFollowing, Deadline: time.Now().Add(time.Hour),
			Owner: "another-process", LeaseUntil: time.Now().Add(time.Hour)}
		if err := e.store.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	mk("a0000000000000000000", "group/api")
	for i := range store.DefaultLimit + 5 {
		mk(fmt.Sprintf("b%019d", i), "group/infra")
	}
	r, _ := e.say("U-alice", "C1", "api runs")
	if !strings.Contains(r.Title, "1 open run") || !strings.Contains(r.Text, "a00000") {
		t.Fatalf("api runs = %q / %q", r.Title, r.Text)
	}
}

// The run's answer says who canceled it even when its poll sees the
// pipeline canceled before the cancel command has heard GitLab's answer
// (held here): the note is given before GitLab is asked.
func TestCancelNoteBeforeGitLabAnswers(t *testing.T) {
	e := newProjectsEnv(t, true)
	e.gl.Block("slow")
	e.chat.Say("U-alice", "C1", "run slow please")
	if _, ok := e.chat.WaitFor("C1", func(r bot.Reply) bool { return len(r.Links) > 0 }, 10*time.Second); !ok {
		t.Fatal("the progress reply never linked the pipeline")
	}
	r, _ := e.say("U-alice", "C1", "runs")
	id := strings.Fields(r.Text)[0]
	ps := e.gl.Pipelines()
	hold := e.gl.HoldAfterWork("POST", fmt.Sprintf("/projects/42/pipelines/%d/cancel", ps[len(ps)-1].ID), 1)
	defer hold.Release()
	e.chat.Say("U-alice", "C1", "cancel "+id)
	final, ok := e.chat.WaitFor("C1", func(r bot.Reply) bool { return r.Title == "slow was canceled" }, 10*time.Second)
	if !ok {
		t.Fatalf("the run's reply never said it was canceled: %+v", e.chat.Messages("C1"))
	}
	if !strings.Contains(final.Text, "Canceled from chat by test:U-alice") {
		t.Fatalf("answered before the note: %q", final.Text)
	}
}
