package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/chatops-dev/chatops/adapters/discord/discordtest"
	"github.com/chatops-dev/chatops/adapters/mattermost/mattermosttest"
	"github.com/chatops-dev/chatops/adapters/slack/slacktest"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
	"github.com/chatops-dev/chatops/store"
	"github.com/chatops-dev/chatops/store/postgres/pgtest"
	"github.com/chatops-dev/chatops/store/sqlite"
)

// These tests run the real binary against fakes of GitLab and of the
// three chat platforms, kill it (SIGKILL: no shutdown code runs) at the
// points where a run is most fragile, start it again on the same store and
// check that each run ends as if nothing had happened: one pipeline, one
// progress message, and the answer edited into it, in the command's thread.

// restartCI's job prints a line naming the chat user, so each platform's
// answer is recognisable (the echoed command shows the variable unexpanded).
const restartCI = `
hello:
  rules:
    - if: $CHATOPS_JOB == "hello"
  script:
    - echo "answer for $CHAT_USER_ID"
`

// world is one GitLab and the three chat platforms, with what the bot
// posted to Mattermost and Discord collected as it arrives (their fakes
// hand posts out once).
type world struct {
	t      *testing.T
	ctx    context.Context
	dir    string
	gl     *gitlabtest.Server
	sl     *slacktest.Server
	mm     *mattermosttest.Server
	mmUser string
	dc     *discordtest.Server

	mu      sync.Mutex
	mmRecs  []mattermosttest.Record
	dcPosts []discordtest.Post

	starts int // bot processes started
	// createHold holds pipeline creations' answers, when a test sets it.
	createHold *gitlabtest.Hold
}

func newWorld(t *testing.T, ctx context.Context) *world {
	t.Helper()
	w := &world{t: t, ctx: ctx, dir: t.TempDir()}
	w.gl = gitlabtest.New(gitlabtest.Options{CIConfig: restartCI})
	t.Cleanup(w.gl.Close)
	w.gl.AddUser("alice", gitlabtest.Developer)
	w.sl = slacktest.New()
	t.Cleanup(w.sl.Close)
	w.mm = mattermosttest.New()
	t.Cleanup(w.mm.Close)
	w.mmUser = w.mm.AddUser("alice", false)
	w.dc = discordtest.New()
	t.Cleanup(w.dc.Close)
	cctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { stop(); wg.Wait() })
	wg.Go(func() {
		for {
			r, err := w.mm.NextBotPost(cctx)
			if err != nil {
				return
			}
			w.mu.Lock()
			w.mmRecs = append(w.mmRecs, r)
			w.mu.Unlock()
		}
	})
	wg.Go(func() {
		for {
			p, err := w.dc.NextPost(cctx)
			if err != nil {
				return
			}
			w.mu.Lock()
			w.dcPosts = append(w.dcPosts, p)
			w.mu.Unlock()
		}
	})
	return w
}

// config writes a configuration for all four fakes with the [store]
// section given and returns its path.
func (w *world) config(storeSection string) string {
	w.t.Helper()
	// One chat user sends every command of these tests: the bot's
	// per-user limits (tested in bot/) are lifted.
	cfg := fmt.Sprintf(`
[bot]
name = "chatops"
per_user_concurrent = 1000
per_user_burst = 1000
per_user_per_minute = 60000
[log]
level = "debug"
%s
[gitlab]
url = %q
token = %q
project = %q
poll_interval = "30ms"
reply_timeout = "1m"
`, storeSection, w.gl.URL(), w.gl.Token, w.gl.ProjectPath) + chatSections(w.sl, w.mm, w.dc, w.mmUser, "alice")
	path := filepath.Join(w.dir, fmt.Sprintf("chatops-%d.toml", time.Now().UnixNano()))
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		w.t.Fatal(err)
	}
	return path
}

// botProc is a running chatops binary.
type botProc struct {
	cmd    *exec.Cmd
	log    string
	exited chan struct{}
}

// start runs the binary with the configuration and waits until it is
// connected to every platform.
func (w *world) start(bin, cfg string) *botProc {
	t := w.t
	t.Helper()
	w.starts++
	logPath := filepath.Join(w.dir, fmt.Sprintf("bot-%d.log", w.starts))
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "-config", cfg)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), "CHATOPS_CONFIG=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &botProc{cmd: cmd, log: logPath, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("log of bot process %s:\n%s", filepath.Base(logPath), tail(string(b), 12000))
		}
	})
	n := w.starts
	for what, wait := range map[string]func() error{
		"slack":      func() error { return w.sl.WaitConnections(w.ctx, n) },
		"mattermost": func() error { return w.mm.WaitConnected(w.ctx, n) },
		"discord": func() error {
			if err := w.dc.WaitSessions(w.ctx, n); err != nil {
				return err
			}
			// Messages reach a session once READY is handled: the
			// connection is listed and the commands are registered.
			for w.dc.Connected() == 0 || len(w.dc.Commands()) == 0 {
				select {
				case <-w.ctx.Done():
					return w.ctx.Err()
				case <-time.After(5 * time.Millisecond):
				}
			}
			return nil
		},
	} {
		if err := wait(); err != nil {
			t.Fatalf("bot process %d never connected to %s: %v", n, what, err)
		}
	}
	return p
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *botProc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// stop sends SIGTERM (a graceful shutdown) and waits.
func (p *botProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		p.kill()
	}
}

// logCount counts the lines of the process's log containing all of words.
func (p *botProc) logCount(words ...string) int {
	b, _ := os.ReadFile(p.log)
	n := 0
	for line := range strings.SplitSeq(string(b), "\n") {
		all := true
		for _, w := range words {
			all = all && strings.Contains(line, w)
		}
		if all {
			n++
		}
	}
	return n
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// sentCommands are the three `run hello` sent, one per platform.
type sentCommands struct {
	slack slacktest.Delivery
	mm    *model.Post
	dc    string
}

func (w *world) sendAll(text string) sentCommands {
	return sentCommands{
		slack: w.sl.Mention("C1", "U1", text),
		mm:    w.mm.Post(w.mm.ChannelID, w.mmUser, "@chatops "+text, ""),
		dc:    w.dc.Send(discordtest.Message{ChannelID: "c1", GuildID: "g1", AuthorID: "u1", Content: "<@" + w.dc.BotID + "> " + text}),
	}
}

// chatUsers are the chat user ids of the three commands, by platform.
func (w *world) chatUsers() map[string]string {
	return map[string]string{"slack": "U1", "mattermost": w.mmUser, "discord": "u1"}
}

// answers counts, per platform, the bot's messages and edits carrying the
// job's output.
func (w *world) answers() map[string]int {
	users := w.chatUsers()
	n := map[string]int{}
	for _, p := range w.sl.Posts() {
		if strings.Contains(p.Text+string(p.Blocks), "answer for "+users["slack"]) {
			n["slack"]++
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.mmRecs {
		if strings.Contains(r.Post.Message, "answer for "+users["mattermost"]) {
			n["mattermost"]++
		}
	}
	for _, p := range w.dcPosts {
		if strings.Contains(p.Content, "answer for "+users["discord"]) {
			n["discord"]++
		}
	}
	return n
}

// waitAnswers waits until every platform has an answer, then a while
// longer, so a duplicate would have time to show.
func (w *world) waitAnswers(settle time.Duration) {
	w.t.Helper()
	for {
		a := w.answers()
		if a["slack"] > 0 && a["mattermost"] > 0 && a["discord"] > 0 {
			break
		}
		select {
		case <-w.ctx.Done():
			w.t.Fatalf("answers so far %v: %v", a, w.ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	time.Sleep(settle)
}

// checkOneRunEach checks that each platform's command made one pipeline,
// one progress message in the command's thread, and one answer, edited
// into that message.
func (w *world) checkOneRunEach(cmds sentCommands) {
	t := w.t
	t.Helper()
	users := w.chatUsers()
	perUser := map[string]int{}
	ps := w.gl.Pipelines()
	for _, p := range ps {
		perUser[p.Variables["CHAT_USER_ID"]]++
	}
	for platform, u := range users {
		if perUser[u] != 1 {
			t.Errorf("%s: %d pipelines, want 1 (pipelines per chat user: %v)", platform, perUser[u], perUser)
		}
	}
	if len(ps) != 3 {
		t.Errorf("%d pipelines in GitLab, want 3", len(ps))
	}
	marker := func(p string) string { return "answer for " + users[p] }

	// Slack: one chat.postMessage in the thread, the answer a chat.update
	// of its ts.
	var slCreates, slAnswers []slacktest.Post
	for _, p := range w.sl.Posts() {
		if p.Method != "chat.update" {
			slCreates = append(slCreates, p)
		}
		if strings.Contains(p.Text+string(p.Blocks), marker("slack")) {
			slAnswers = append(slAnswers, p)
		}
	}
	switch {
	case len(slCreates) != 1:
		t.Errorf("slack: %d messages posted, want one progress message: %+v", len(slCreates), slCreates)
	case slCreates[0].Method != "chat.postMessage" || slCreates[0].ThreadTS != cmds.slack.TS:
		t.Errorf("slack: progress %s in thread %q, want chat.postMessage in %q", slCreates[0].Method, slCreates[0].ThreadTS, cmds.slack.TS)
	case len(slAnswers) != 1 || slAnswers[0].Method != "chat.update" || slAnswers[0].TS != slCreates[0].TS:
		t.Errorf("slack: answers %+v, want one chat.update of ts %s", slAnswers, slCreates[0].TS)
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	// Mattermost: one post in the command's thread, the answer a patch of it.
	var mmCreates, mmAnswers []mattermosttest.Record
	for _, r := range w.mmRecs {
		if !r.Patch {
			mmCreates = append(mmCreates, r)
		}
		if strings.Contains(r.Post.Message, marker("mattermost")) {
			mmAnswers = append(mmAnswers, r)
		}
	}
	switch {
	case len(mmCreates) != 1:
		t.Errorf("mattermost: %d posts created, want one progress post", len(mmCreates))
	case mmCreates[0].Post.RootId != cmds.mm.Id:
		t.Errorf("mattermost: progress post in thread %q, want %q", mmCreates[0].Post.RootId, cmds.mm.Id)
	case len(mmAnswers) != 1 || !mmAnswers[0].Patch || mmAnswers[0].Post.Id != mmCreates[0].Post.Id:
		t.Errorf("mattermost: %d answers (want one patch of post %s): %+v", len(mmAnswers), mmCreates[0].Post.Id, mmAnswers)
	}

	// Discord: one message replying to the command, the answer an edit of it.
	var dcCreates, dcAnswers []discordtest.Post
	for _, p := range w.dcPosts {
		if p.Kind != "edit" {
			dcCreates = append(dcCreates, p)
		}
		if strings.Contains(p.Content, marker("discord")) {
			dcAnswers = append(dcAnswers, p)
		}
	}
	switch {
	case len(dcCreates) != 1:
		t.Errorf("discord: %d messages created, want one progress message: %+v", len(dcCreates), dcCreates)
	case dcCreates[0].Kind != "create" || dcCreates[0].ReplyTo != cmds.dc:
		t.Errorf("discord: progress %s replying to %q, want a create replying to %q", dcCreates[0].Kind, dcCreates[0].ReplyTo, cmds.dc)
	case len(dcAnswers) != 1 || dcAnswers[0].Kind != "edit" || dcAnswers[0].MessageID != dcCreates[0].MessageID:
		t.Errorf("discord: answers %+v, want one edit of message %s", dcAnswers, dcCreates[0].MessageID)
	}
}

// storedRuns opens the SQLite store (no bot may hold it) and returns its
// open runs.
func storedRuns(t *testing.T, path string) []*store.Run {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runs, err := st.OpenRuns(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

// waitRequests waits until the fake has recorded n more requests matching
// match than it had when called.
func waitRequests(ctx context.Context, gl *gitlabtest.Server, n int, match func(gitlabtest.Request) bool) error {
	count := func() int {
		c := 0
		for _, r := range gl.Requests() {
			if match(r) {
				c++
			}
		}
		return c
	}
	want := count() + n
	for count() < want {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d more requests: %w", n, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

func isPoll(r gitlabtest.Request) bool {
	return r.Method == "GET" && r.Path == "/projects/42/pipelines" && strings.Contains(r.Query, "order_by=updated_at")
}

// waitJobs waits until n pipelines exist whose jobs all have status.
func waitJobs(ctx context.Context, gl *gitlabtest.Server, n int, status string) error {
	for {
		ps := gl.Pipelines()
		ok := len(ps) == n
		for _, p := range ps {
			for _, j := range p.Jobs {
				ok = ok && strings.HasSuffix(j, ":"+status)
			}
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d pipelines with jobs %s (have %+v): %w", n, status, ps, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// TestSIGKILLAtAnyPoint kills the bot at each fragile point of a run's
// life, with one run from each platform in flight, and checks the
// restarted bot finishes every run exactly once.
func TestSIGKILLAtAnyPoint(t *testing.T) {
	bin := buildBinary(t)
	points := []struct {
		name string
		// reach brings the first process to the kill point (it has sent
		// the commands); it returns what to do after the restart.
		reach func(t *testing.T, w *world) (after func())
		// phase is what the store must say of every run once killed.
		phase store.Phase
	}{
		{
			name: "job running",
			reach: func(t *testing.T, w *world) func() {
				if err := waitJobs(w.ctx, w.gl, 3, "running"); err != nil {
					t.Fatal(err)
				}
				// A few polls later every run is followed.
				if err := waitRequests(w.ctx, w.gl, 3, isPoll); err != nil {
					t.Fatal(err)
				}
				return func() { w.gl.Unblock("hello") }
			},
			phase: store.PhaseFollowing,
		},
		{
			name: "pipeline created, its answer not received",
			reach: func(t *testing.T, w *world) func() {
				if err := w.createHold.Wait(w.ctx, 3); err != nil {
					t.Fatal(err)
				}
				if n := len(w.gl.Pipelines()); n != 3 {
					t.Fatalf("%d pipelines created before the kill", n)
				}
				return func() { w.createHold.Release(); w.gl.Unblock("hello") }
			},
			phase: store.PhaseCreating,
		},
		{
			name: "job finished, its state not read",
			reach: func(t *testing.T, w *world) func() {
				if err := waitJobs(w.ctx, w.gl, 3, "running"); err != nil {
					t.Fatal(err)
				}
				if err := waitRequests(w.ctx, w.gl, 3, isPoll); err != nil {
					t.Fatal(err)
				}
				// The job's first read comes once the poll saw it finish.
				hold := w.gl.HoldAfterWork("GET", "/projects/42/jobs/", 3)
				w.gl.Unblock("hello")
				if err := hold.Wait(w.ctx, 3); err != nil {
					t.Fatal(err)
				}
				if err := waitJobs(w.ctx, w.gl, 3, "success"); err != nil {
					t.Fatal(err)
				}
				return hold.Release
			},
			phase: store.PhaseFollowing,
		},
		{
			name: "job finished, its log being read",
			reach: func(t *testing.T, w *world) func() {
				if err := waitJobs(w.ctx, w.gl, 3, "running"); err != nil {
					t.Fatal(err)
				}
				if err := waitRequests(w.ctx, w.gl, 3, isPoll); err != nil {
					t.Fatal(err)
				}
				var holds []*gitlabtest.Hold
				for _, p := range w.gl.Pipelines() {
					holds = append(holds, w.gl.HoldAfterWork("GET", fmt.Sprintf("/projects/42/jobs/%d/trace", p.JobIDs[0]), 1))
				}
				w.gl.Unblock("hello")
				for _, h := range holds {
					if err := h.Wait(w.ctx, 1); err != nil {
						t.Fatal(err)
					}
				}
				return func() {
					for _, h := range holds {
						h.Release()
					}
				}
			},
			phase: store.PhaseFollowing,
		},
	}
	for _, kp := range points {
		t.Run(kp.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
			defer cancel()
			w := newWorld(t, ctx)
			w.gl.Block("hello")
			if kp.phase == store.PhaseCreating {
				w.createHold = w.gl.HoldAfterWork("POST", "/projects/42/pipeline", 3)
			}
			dbPath := filepath.Join(w.dir, "chatops.db")
			cfg := w.config(fmt.Sprintf("[store]\npath = %q", dbPath))

			first := w.start(bin, cfg)
			cmds := w.sendAll("run hello")
			after := kp.reach(t, w)
			first.kill()

			runs := storedRuns(t, dbPath)
			if len(runs) != 3 {
				t.Fatalf("%d open runs stored at the kill, want 3", len(runs))
			}
			for _, r := range runs {
				if r.Phase != kp.phase || r.ReplyID == "" {
					t.Fatalf("%s run stored in phase %s with reply %q, want %s with its progress reply", r.Platform, r.Phase, r.ReplyID, kp.phase)
				}
			}
			if a := w.answers(); len(a) != 0 {
				t.Fatalf("answers before the restart: %v", a)
			}

			second := w.start(bin, cfg)
			after()
			w.waitAnswers(300 * time.Millisecond)
			w.checkOneRunEach(cmds)
			if n := second.logCount("resuming open runs", "runs=3"); n != 1 {
				t.Errorf("the second process resumed the runs %d times, want once", n)
			}
			second.kill()
			if runs := storedRuns(t, dbPath); len(runs) != 0 {
				t.Errorf("%d runs still open after every answer was delivered", len(runs))
			}
		})
	}
}

// waitLog waits until the process's log has n lines containing words.
func (w *world) waitLog(p *botProc, n int, words ...string) {
	w.t.Helper()
	for p.logCount(words...) < n {
		select {
		case <-w.ctx.Done():
			w.t.Fatalf("the log never had %d lines with %q: %v", n, words, w.ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestSlackEnvelopeRedeliveredAfterRestart: Slack redelivers an envelope
// (retry_attempt 1) to a process that never saw it, since the one that
// handled it was restarted meanwhile; the claim stored by the first process
// makes the second drop it.
func TestSlackEnvelopeRedeliveredAfterRestart(t *testing.T) {
	bin := buildBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	w := newWorld(t, ctx)
	cfg := w.config(fmt.Sprintf("[store]\npath = %q", filepath.Join(w.dir, "chatops.db")))

	first := w.start(bin, cfg)
	cmd := w.sl.Mention("C1", "U1", "run hello")
	for w.answers()["slack"] == 0 {
		select {
		case <-ctx.Done():
			t.Fatal("no answer from the first process")
		case <-time.After(10 * time.Millisecond):
		}
	}
	first.stop()

	second := w.start(bin, cfg)
	for _, id := range cmd.EnvelopeIDs {
		again, err := w.sl.Redeliver(id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.sl.WaitAck(ctx, again); err != nil {
			t.Fatal(err)
		}
	}
	// The second process saw the redelivery and dropped it.
	w.waitLog(second, 1, "dropping duplicate delivery", "event=C1:"+cmd.TS)
	time.Sleep(200 * time.Millisecond)
	if n := len(w.gl.Pipelines()); n != 1 {
		t.Fatalf("%d pipelines after the redelivery, want 1", n)
	}
	if n := second.logCount("run recorded"); n != 0 {
		t.Fatalf("the second process started %d runs", n)
	}
	posted := 0
	for _, p := range w.sl.Posts() {
		if p.Method == "chat.postMessage" {
			posted++
		}
	}
	if posted != 1 {
		t.Fatalf("%d messages posted, want the one progress message", posted)
	}
}

// TestTwoProcessesOnePostgres: two bot processes share one PostgreSQL
// store and both receive the same Mattermost post (and the same Discord
// message: both platforms send events to every connection); only one
// handles each, so one pipeline and one answer each.
func TestTwoProcessesOnePostgres(t *testing.T) {
	pgURL := pgtest.FreshSchema(t)
	bin := buildBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	w := newWorld(t, ctx)
	cfg := w.config(fmt.Sprintf("[store]\nurl = %q", pgURL))
	a := w.start(bin, cfg)
	b := w.start(bin, cfg)
	for w.mm.Connected() < 2 || w.dc.Connected() < 2 {
		select {
		case <-ctx.Done():
			t.Fatalf("not both processes connected: mattermost %d, discord %d", w.mm.Connected(), w.dc.Connected())
		case <-time.After(5 * time.Millisecond):
		}
	}
	w.gl.Block("hello") // both processes see the command while its run is open
	post := w.mm.Post(w.mm.ChannelID, w.mmUser, "@chatops run hello", "")
	msg := w.dc.Send(discordtest.Message{ChannelID: "c1", GuildID: "g1", AuthorID: "u1", Content: "<@" + w.dc.BotID + "> run hello"})
	events := []string{"event=" + post.Id, "event=" + msg}
	count := func(words ...string) int { return a.logCount(words...) + b.logCount(words...) }
	for _, ev := range events {
		// Both processes received it: one handled it, the other dropped it.
		for count("dropping duplicate delivery", ev) < 1 || count("run recorded", ev) < 1 {
			select {
			case <-ctx.Done():
				t.Fatalf("%s: dropped as a duplicate %d times, run recorded %d times: one process never saw it, or neither started it",
					ev, count("dropping duplicate delivery", ev), count("run recorded", ev))
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	w.gl.Unblock("hello")
	for {
		if an := w.answers(); an["mattermost"] > 0 && an["discord"] > 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("answers %v", w.answers())
		case <-time.After(10 * time.Millisecond):
		}
	}
	time.Sleep(300 * time.Millisecond)
	for _, ev := range events {
		if n := count("run recorded", ev); n != 1 {
			t.Errorf("%s: %d runs recorded, want 1", ev, n)
		}
	}
	if n := len(w.gl.Pipelines()); n != 2 {
		t.Fatalf("%d pipelines, want one for the post and one for the message", n)
	}
	an := w.answers()
	w.mu.Lock()
	defer w.mu.Unlock()
	mmCreates, dcCreates := 0, 0
	for _, r := range w.mmRecs {
		if !r.Patch {
			mmCreates++
		}
	}
	for _, p := range w.dcPosts {
		if p.Kind == "create" {
			dcCreates++
		}
	}
	if mmCreates != 1 || dcCreates != 1 || an["mattermost"] != 1 || an["discord"] != 1 {
		t.Fatalf("progress messages: mattermost %d, discord %d; answers %v; want one of each", mmCreates, dcCreates, an)
	}
}
