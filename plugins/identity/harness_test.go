package identity_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/bottest"
	"github.com/chatops-dev/chatops/commands"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
	"github.com/chatops-dev/chatops/plugins/gitlabplugins"
	"github.com/chatops-dev/chatops/plugins/identity"
	"github.com/chatops-dev/chatops/plugins/run"
	"github.com/chatops-dev/chatops/store"
	"github.com/chatops-dev/chatops/store/seal"
	"github.com/chatops-dev/chatops/store/sqlite"
)

const ci = `
deploy-staging:
  rules:
    - if: $CHATOPS_JOB == "deploy-staging"
  script:
    - echo "staging up"
`

// syncBuffer collects every log line of a test, to check no token leaks.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env is a running bot with the identity and GitLab plugins over the
// fake GitLab and a SQLite store. alice is a Developer, olga no member;
// both are mapped under [identities].
type env struct {
	t      *testing.T
	gl     *gitlabtest.Server
	chat   *bottest.Chat
	dbPath string
	st     store.Store
	logs   *syncBuffer
	// stop stops the bot and reports whether Run returned within 10s.
	stop func() bool
}

// envOpts choose what newEnvWith builds.
type envOpts struct {
	actAs   string
	linking bool
	// workers is the bot's worker count (default 8).
	workers int
	// noDirect hides the chat's bot.DirectOpener, as a platform that
	// cannot open direct conversations.
	noDirect bool
	// share, when set, is an env whose fake GitLab and store this one
	// uses, as another process (a restart, a replica) would.
	share *env
	// owner, lease and maxPending are the identity plugin's Owner, Lease
	// and MaxPending (its defaults when unset).
	owner      string
	lease      time.Duration
	maxPending int
	// wrap, when set, wraps the store the identity plugin uses.
	wrap func(store.Store) store.Store
}

func newEnv(t *testing.T, actAs string, linking bool) *env {
	t.Helper()
	return newEnvWith(t, envOpts{actAs: actAs, linking: linking})
}

// chatOnly is the Chat without the capability to open direct
// conversations: only the Adapter and Editor methods show.
type chatOnly struct {
	bot.Adapter
	bot.Editor
}

func newEnvWith(t *testing.T, o envOpts) *env {
	t.Helper()
	actAs, linking := o.actAs, o.linking
	if o.workers == 0 {
		o.workers = 8
	}
	e := &env{t: t, chat: bottest.NewChat("test"), logs: &syncBuffer{}}
	if o.share != nil {
		e.gl, e.dbPath, e.st = o.share.gl, o.share.dbPath, o.share.st
	} else {
		e.gl = gitlabtest.New(gitlabtest.Options{CIConfig: ci, Admin: actAs == gitlab.ActAsSudo})
		t.Cleanup(e.gl.Close)
		e.gl.AddUser("alice", gitlabtest.Developer)
		e.gl.AddUser("olga", 0)
		e.dbPath = filepath.Join(t.TempDir(), "chatops.db")
		st, err := sqlite.Open(context.Background(), e.dbPath)
		if err != nil {
			t.Fatal(err)
		}
		e.st = st
		t.Cleanup(func() { st.Close() }) // after the bots' cleanups, which run first
	}
	fake, st := e.gl, e.st
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ids := map[string]string{"test:U-alice": "alice", "test:U-olga": "olga"}
	var idStore store.Store = st
	if o.wrap != nil {
		idStore = o.wrap(st)
	}
	sealer, err := seal.New(bytes.Repeat([]byte{42}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	clientID := ""
	if linking {
		clientID = "chatops-app"
	}
	idp, err := identity.New(identity.Options{GitLabURL: fake.URL(), ClientID: clientID, Store: idStore, Sealer: sealer,
		Identities: ids, ActAs: actAs, Logger: log, Owner: o.owner, Lease: o.lease, MaxPending: o.maxPending})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := gitlab.New(gitlab.Config{URL: fake.URL(), Token: fake.Token, Project: fake.ProjectPath, PlayManual: true,
		ExtractWait: 300 * time.Millisecond, ExtractInterval: 20 * time.Millisecond, RetryBackoff: 5 * time.Millisecond,
		Logger: log, Identities: ids, ActAs: actAs, Linking: linking})
	if err != nil {
		t.Fatal(err)
	}
	set, err := gitlabplugins.New([]gitlabplugins.Project{{Path: fake.ProjectPath, GitLab: svc, Default: true}},
		run.Options{Store: st, PollInterval: 20 * time.Millisecond, ReplyTimeout: 10 * time.Second, Logger: log, Audit: log, Actor: idp.Actor})
	if err != nil {
		t.Fatal(err)
	}
	rt := commands.NewRouter("chatops")
	rt.Use(idp.Middleware())
	for _, p := range append(set.Plugins(), idp) {
		if err := rt.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	var chat bot.Adapter = e.chat
	if o.noDirect {
		chat = chatOnly{e.chat, e.chat}
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := bot.New(rt, bot.Options{Logger: log, Workers: o.workers, Claims: st, ShutdownGrace: 50 * time.Millisecond}, chat)
	done := make(chan struct{})
	go func() { _ = b.Run(ctx); close(done) }()
	e.stop = func() bool {
		cancel()
		select {
		case <-done:
			return true
		case <-time.After(10 * time.Second):
			return false
		}
	}
	t.Cleanup(func() { cancel(); <-done })
	return e
}

// dmOf is the direct conversation of user with the bot: where dm writes,
// and where the chat opens one (bottest.DirectChannel).
func dmOf(user string) string { return bottest.DirectChannel("U-" + user) }

// dm sends text from user in their direct conversation with the bot.
func (e *env) dm(user, text string) {
	e.chat.Deliver(bot.Message{Platform: "test", Text: text, Addressed: true, Sender: bot.User{ID: "U-" + user},
		Conversation: bot.Conversation{ChannelID: dmOf(user), Direct: true}})
}

// wait returns the first reply in channel whose title starts with prefix.
func (e *env) wait(channel, prefix string) bot.Reply {
	e.t.Helper()
	r, ok := e.chat.WaitFor(channel, func(r bot.Reply) bool { return strings.HasPrefix(r.Title, prefix) }, 20*time.Second)
	if !ok {
		e.t.Fatalf("no reply %q in %s; messages: %+v", prefix, channel, e.chat.Messages(channel))
	}
	return r
}

// say posts text in channel and returns the final reply.
func (e *env) say(user, channel, text string) bot.Reply {
	e.t.Helper()
	r, _ := e.chat.FinalIn(e.t, channel, e.chat.Ask("U-"+user, channel, text))
	return r
}

// link runs the device flow for user, approved in GitLab as gitlabUser.
func (e *env) link(user, gitlabUser string) {
	e.t.Helper()
	e.dm(user, "link")
	e.wait(dmOf(user), "Link your GitLab account")
	if err := e.gl.ApproveDevice(e.gl.LastUserCode(), gitlabUser); err != nil {
		e.t.Fatal(err)
	}
	e.wait(dmOf(user), "Linked to GitLab user "+gitlabUser)
}

// noSecrets fails if a token the fake issued appears in the logs, in any
// reply, or in the database files.
func (e *env) noSecrets(channels ...string) {
	e.t.Helper()
	var secrets []string
	for _, tok := range e.gl.OAuthTokens() {
		secrets = append(secrets, tok.Token, tok.Refresh)
	}
	if len(secrets) == 0 {
		e.t.Fatal("no tokens were issued")
	}
	logs := e.logs.String()
	var replies strings.Builder
	for _, ch := range channels {
		for _, r := range e.chat.Messages(ch) {
			replies.WriteString(r.Title + "\n" + r.Text + "\n")
			for _, f := range r.Fields {
				replies.WriteString(f.Value + "\n")
			}
		}
	}
	files, _ := filepath.Glob(e.dbPath + "*") // the database and its WAL
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			e.t.Errorf("the logs hold the token %s", s)
		}
		if strings.Contains(replies.String(), s) {
			e.t.Errorf("a reply holds the token %s", s)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				e.t.Fatal(err)
			}
			if bytes.Contains(b, []byte(s)) {
				e.t.Errorf("%s holds the token %s in plaintext", filepath.Base(f), s)
			}
		}
	}
}
