// Package plugintest runs the real bot with the GitLab plugins (run,
// issue, deploy) over the fake GitLab and a SQLite store, for the
// plugins' end-to-end tests: one harness, imported by each.
package plugintest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/bottest"
	"github.com/chatops-dev/chatops/commands"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
	"github.com/chatops-dev/chatops/plugins/gitlabplugins"
	"github.com/chatops-dev/chatops/plugins/run"
	"github.com/chatops-dev/chatops/plugins/run/policy"
	"github.com/chatops-dev/chatops/store/sqlite"
)

// Users of the fake, by chat id "U-<name>" on platform "test": alice is
// a Developer, rita a Reporter, gus a Guest, mia a Maintainer, olga no
// member, bob a blocked Maintainer, ghost is mapped to a GitLab user that
// does not exist, and U-nobody is not mapped at all. In group/infra (alias
// infra) mia is a Maintainer, rita a Reporter and alice a Guest.
const (
	Platform = "test"
)

// CI is the default project's configuration: a push deploys staging
// and leaves deploy-production waiting.
const CI = `
deploy-staging:
  environment: staging
  rules:
    - if: $CI_PIPELINE_SOURCE == "push"
  script:
    - echo "staging up"
deploy-production:
  environment:
    name: production
  rules:
    - if: $CI_PIPELINE_SOURCE == "push"
      when: manual
  script:
    - echo "production up"
`

// Env is a running bot over the fake.
type Env struct {
	T     *testing.T
	GL    *gitlabtest.Server
	Infra *gitlabtest.Project
	Chat  *bottest.Chat
	// Set is the last started bot's plugins.
	Set *gitlabplugins.Set

	// DBPath is the SQLite store's file, kept across restarts.
	DBPath string
	// Policy is the per-job policy the next Start gives the run plugin.
	Policy policy.Set
	stop   func()
}

// New starts the fake GitLab (with ci as the default project's
// configuration) and a bot with the GitLab plugins.
func New(t *testing.T, ci string) *Env {
	t.Helper()
	gl := gitlabtest.New(gitlabtest.Options{CIConfig: ci})
	t.Cleanup(gl.Close)
	for name, level := range map[string]int{"alice": gitlabtest.Developer, "rita": gitlabtest.Reporter, "gus": gitlabtest.Guest,
		"mia": gitlabtest.Maintainer, "olga": 0, "bob": gitlabtest.Maintainer} {
		gl.AddUser(name, level)
	}
	gl.BlockUser("bob")
	infra := gl.AddProject("group/infra", "")
	infra.AddMember("mia", gitlabtest.Maintainer)
	infra.AddMember("rita", gitlabtest.Reporter)
	infra.AddMember("alice", gitlabtest.Guest)
	e := &Env{T: t, GL: gl, Infra: infra, Chat: bottest.NewChat(Platform), DBPath: filepath.Join(t.TempDir(), "chatops.db")}
	e.Start()
	return e
}

// Start starts a bot over the fake and the store (again, after Stop: a
// restart).
func (e *Env) Start() {
	t := e.T
	t.Helper()
	ids := map[string]string{}
	for _, n := range []string{"alice", "rita", "gus", "mia", "olga", "bob", "ghost"} {
		ids[Platform+":U-"+n] = n
	}
	svc := func(path string) *gitlab.Service {
		s, err := gitlab.New(gitlab.Config{URL: e.GL.URL(), Token: e.GL.Token, Project: path, PlayManual: true,
			ExtractWait: 300 * time.Millisecond, ExtractInterval: 20 * time.Millisecond, RetryBackoff: 5 * time.Millisecond,
			Logger: bottest.Quiet(), Identities: ids})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	st, err := sqlite.Open(context.Background(), e.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	set, err := gitlabplugins.New([]gitlabplugins.Project{
		{Path: e.GL.ProjectPath, GitLab: svc(e.GL.ProjectPath), Default: true},
		{Alias: "infra", Path: "group/infra", GitLab: svc("group/infra"), Channels: []string{Platform + ":C-infra"}},
	}, run.Options{Store: st, PollInterval: 20 * time.Millisecond, ReplyTimeout: 10 * time.Second, Logger: bottest.Quiet(), Policy: e.Policy})
	if err != nil {
		t.Fatal(err)
	}
	e.Set = set
	rt := commands.NewRouter("chatops")
	for _, p := range set.Plugins() {
		if err := rt.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := bot.New(rt, bot.Options{Logger: bottest.Quiet(), Workers: 8, Claims: st, ShutdownGrace: 50 * time.Millisecond}, e.Chat)
	done := make(chan struct{})
	go func() { _ = b.Run(ctx); close(done) }()
	stopped := false
	e.stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
			st.Close()
		}
	}
	t.Cleanup(e.Stop)
}

// Stop stops the bot and closes the store, as a process that exits.
func (e *Env) Stop() { e.stop() }

// Say posts text as user ("alice") in channel and returns the final reply
// to it (in its own thread, so never a late reply to an earlier message).
func (e *Env) Say(user, channel, text string) bot.Reply {
	e.T.Helper()
	r, _ := e.Chat.FinalIn(e.T, channel, e.Chat.Ask("U-"+user, channel, text))
	return r
}
