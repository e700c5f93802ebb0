package run_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/bottest"
	"github.com/chatops-dev/chatops/commands"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
	"github.com/chatops-dev/chatops/plugins/run"
	"github.com/chatops-dev/chatops/store"
	"github.com/chatops-dev/chatops/store/sqlite"
)

type env struct {
	t     *testing.T
	gl    *gitlabtest.Server
	chat  *bottest.Chat
	store store.Store
	cfg   config
	// plugin is the last started plugin.
	plugin *run.Plugin
	// stop stops the last started bot and closes its store (as a process
	// exiting would); later calls do nothing.
	stop func()
}

// config is what a test may change before the bot starts.
type config struct {
	gitlab gitlab.Config
	run    run.Options
	// dbPath is the SQLite file (default: a new one in t.TempDir()).
	dbPath string
	// manual leaves starting the bot to the test (e.start), after it has
	// set up the fake.
	manual bool
}

const testCI = `
hello-world:
  rules:
    - if: $CHATOPS_JOB == "hello-world"
  script:
    - echo "Hello World"
greet:
  rules:
    - if: $CHATOPS_JOB == "greet"
  script:
    - printf '%s' "$CHAT_INPUT" > input.txt
    - echo -e "section_start:1:chat_reply\r\033[0K\n[$CHAT_INPUT] by $CHAT_USER_ID in $CHAT_CHANNEL\nsection_end:1:chat_reply\r\033[0K"
fail:
  rules:
    - if: $CHATOPS_JOB == "fail"
  script:
    - echo "about to fail"
    - exit 3
slow:
  rules:
    - if: $CHATOPS_JOB == "slow"
  script:
    - echo "slow start"
deploy:
  rules:
    - if: $CHATOPS_JOB == "deploy"
      when: manual
  script:
    - echo "deployed"
report:
  rules:
    - if: $CHATOPS_JOB == "report"
  script:
    - echo "from the log"
    - printf '# Deployed to %s\n\n**v1.4.2** is live, smoke tests passed:\n\n- api is **up**\n- web is _up_\n\ncc @channel\n' "$CHAT_INPUT" > chat_reply.md
  artifacts:
    paths: [chat_reply.md]
    expire_in: 1 day
quiet:
  rules:
    - if: $CHATOPS_JOB == "quiet"
  script:
    - "true"
norule:
  rules:
    - if: $CI_PIPELINE_SOURCE == "push"
  script:
    - echo "never from chat"
.hidden:
  script:
    - echo "template"
secret:
  only: [schedules]
  except: [chat]
  script:
    - echo "no"
`

// newEnv starts the fake GitLab and a bot with the run plugin over a
// SQLite store. tweak may change the configuration before it starts.
func newEnv(t *testing.T, tweak func(*config)) *env {
	t.Helper()
	fake := gitlabtest.New(gitlabtest.Options{CIConfig: testCI})
	t.Cleanup(fake.Close)
	fake.AddUser("alice", gitlabtest.Developer)
	fake.AddUser("rita", gitlabtest.Reporter)
	fake.AddUser("olga", 0)
	fake.AddUser("bob", gitlabtest.Maintainer)
	fake.BlockUser("bob")
	e := &env{t: t, gl: fake, chat: bottest.NewChat("test")}
	e.cfg = config{
		gitlab: gitlab.Config{
			URL: fake.URL(), Token: fake.Token, Project: fake.ProjectPath, PlayManual: true,
			ExtractWait: 300 * time.Millisecond, ExtractInterval: 20 * time.Millisecond,
			RetryBackoff: 5 * time.Millisecond, Logger: bottest.Quiet(), ReplyFile: gitlab.DefaultReplyFile,
			Identities: map[string]string{"test:U-alice": "alice", "test:U-rita": "rita", "test:U-olga": "olga", "test:U-bob": "bob", "test:U-ghost": "ghost"},
		},
		run:    run.Options{PollInterval: 20 * time.Millisecond, ReplyTimeout: 10 * time.Second, Logger: bottest.Quiet()},
		dbPath: filepath.Join(t.TempDir(), "chatops.db"),
	}
	if tweak != nil {
		tweak(&e.cfg)
	}
	if !e.cfg.manual {
		e.start()
	}
	return e
}

// start opens the store and starts a bot with the run plugin over it;
// both stop with the test.
func (e *env) start() *run.Plugin {
	e.t.Helper()
	st, err := sqlite.Open(context.Background(), e.cfg.dbPath)
	if err != nil {
		e.t.Fatal(err)
	}
	e.store = st
	return e.startOn(st, e.cfg.run)
}

// startOn starts a bot with the run plugin, configured by opts, over st
// (a store that may inject faults); the bot stops and st closes with the
// test, or at e.stop.
func (e *env) startOn(st store.Store, opts run.Options) *run.Plugin {
	t := e.t
	t.Helper()
	svc, err := gitlab.New(e.cfg.gitlab)
	if err != nil {
		t.Fatal(err)
	}
	opts.Store = st
	if opts.Projects == nil {
		opts.GitLab, opts.Project = svc, e.cfg.gitlab.Project
	}
	if opts.Logger == nil {
		opts.Logger = bottest.Quiet()
	}
	p, err := run.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	e.plugin = p
	rt := commands.NewRouter("chatops")
	if err := rt.Add(p); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	// Tests here send bursts as one user on purpose; the bot's per-user
	// limits have their own tests (bot/bot_test.go).
	b := bot.New(rt, bot.Options{Logger: bottest.Quiet(), Workers: 32, Claims: st, PerUserConcurrent: 64, PerUserBurst: 1000}, e.chat)
	done := make(chan struct{})
	go func() { _ = b.Run(ctx); close(done) }()
	var once sync.Once
	e.stop = func() { once.Do(func() { cancel(); <-done; st.Close() }) }
	t.Cleanup(e.stop)
	return p
}

// say posts text as user in channel and returns the final reply.
func (e *env) say(user, channel, text string) (bot.Reply, int) {
	e.t.Helper()
	return e.chat.FinalIn(e.t, channel, e.chat.Ask(user, channel, text))
}
