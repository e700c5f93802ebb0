package run_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/bottest"
	"github.com/chatops-dev/chatops/commands"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
	"github.com/chatops-dev/chatops/plugins/run"
	"github.com/chatops-dev/chatops/store"
	"github.com/chatops-dev/chatops/store/postgres"
	"github.com/chatops-dev/chatops/store/postgres/pgtest"
)

// startShared starts a bot with the run plugin on the PostgreSQL store at
// u, as one of several processes sharing it.
func startShared(t *testing.T, fake *gitlabtest.Server, u string, chat *bottest.Chat, lease time.Duration) store.Store {
	t.Helper()
	return startSharedPolling(t, fake, u, chat, lease, 20*time.Millisecond)
}

// startSharedPolling is startShared polling GitLab every poll.
func startSharedPolling(t *testing.T, fake *gitlabtest.Server, u string, chat *bottest.Chat, lease, poll time.Duration) store.Store {
	t.Helper()
	svc, err := gitlab.New(gitlab.Config{URL: fake.URL(), Token: fake.Token, Project: fake.ProjectPath,
		ExtractWait: 300 * time.Millisecond, ExtractInterval: 20 * time.Millisecond, RetryBackoff: time.Second,
		Identities: map[string]string{"test:U-alice": "alice"}, Logger: bottest.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	st, err := postgres.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	p, err := run.New(run.Options{GitLab: svc, Store: st, Project: fake.ProjectPath, PollInterval: poll,
		Lease: lease, Logger: bottest.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	rt := commands.NewRouter("chatops")
	if err := rt.Add(p); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := bot.New(rt, bot.Options{Logger: bottest.Quiet(), Claims: st}, chat)
	done := make(chan struct{})
	go func() { _ = b.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; st.Close() })
	return st
}

// A process that starts while another sharing the store is creating a
// run's pipeline must not create it too: the run is the other one's.
func TestSharedStoreStartLeavesACreatingRunToItsProcess(t *testing.T) {
	u := pgtest.FreshSchema(t)
	fake := gitlabtest.New(gitlabtest.Options{CIConfig: testCI})
	defer fake.Close()
	fake.AddUser("alice", gitlabtest.Developer)
	// The first create gets a 502: the creating process looks the run up
	// and tries again after RetryBackoff (1s), a window in which the run
	// is stored "creating" and has no pipeline.
	fake.Fail("POST", "/projects/42/pipeline", 1, 502, "")
	a := bottest.NewChat("test")
	startShared(t, fake, u, a, time.Minute)
	a.Say("U-alice", "C1", "run hello-world")
	for fake.Count("POST", "/projects/42/pipeline") == 0 || fake.Count("GET", "/projects/42/pipelines") == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	b := bottest.NewChat("test")
	startShared(t, fake, u, b, time.Minute)
	r, _, answered := a.WaitFinal("C1", 10*time.Second)
	time.Sleep(100 * time.Millisecond)
	if n := len(fake.Pipelines()); n != 1 {
		t.Fatalf("%d pipelines for one run: the process that started meanwhile created it again", n)
	}
	if !answered || r.Status != bot.StatusSuccess {
		t.Fatalf("answered %v, reply %+v", answered, r)
	}
	if m := b.Messages("C1"); len(m) != 0 {
		t.Fatalf("the other process posted %d messages", len(m))
	}
}

// A run left "creating" by a process that is gone is resumed once its
// lease has lapsed: looked up, not found, created and answered.
func TestSharedStoreResumesACreatingRunAfterTheLease(t *testing.T) {
	u := pgtest.FreshSchema(t)
	fake := gitlabtest.New(gitlabtest.Options{CIConfig: testCI})
	defer fake.Close()
	fake.AddUser("alice", gitlabtest.Developer)
	st, err := postgres.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	orphan := &store.Run{ID: "orphan1", Kind: "run", Platform: "test", ChannelID: "C1", Requester: "test:U-alice", UserID: "U-alice",
		GitLabUser: "alice", Project: fake.ProjectPath, ProjectID: fake.ProjectID, Ref: "main", Job: "hello-world",
		Phase: store.PhaseCreating, Deadline: time.Now().Add(time.Minute),
		Owner: "a-dead-process", LeaseUntil: time.Now().Add(400 * time.Millisecond)}
	if err := st.CreateRun(context.Background(), orphan); err != nil {
		t.Fatal(err)
	}
	chat := bottest.NewChat("test")
	startShared(t, fake, u, chat, 300*time.Millisecond)
	r, _ := chat.Final(t, "C1")
	if r.Status != bot.StatusSuccess {
		t.Fatalf("reply %+v", r)
	}
	ps := fake.Pipelines()
	if len(ps) != 1 || ps[0].Variables["CHATOPS_RUN_ID"] != "orphan1" {
		t.Fatalf("pipelines %+v", ps)
	}
	if ps[0].Created.Before(orphan.LeaseUntil) {
		t.Fatalf("the pipeline was created at %v, before the dead process's lease lapsed at %v", ps[0].Created, orphan.LeaseUntil)
	}
}

// A `cancel` served by one process for a run another follows: the note
// saying who canceled reaches the follower, whose answer carries it.
func TestSharedStoreCancelNoteReachesTheFollower(t *testing.T) {
	u := pgtest.FreshSchema(t)
	fake := gitlabtest.New(gitlabtest.Options{CIConfig: testCI})
	defer fake.Close()
	fake.AddUser("alice", gitlabtest.Developer)
	fake.Block("slow")
	a, b := bottest.NewChat("test"), bottest.NewChat("test")
	// The follower polls every 2 s, as a real one learns of a cancel
	// only after GitLab's hook or its next poll: the relayed note, sent
	// once GitLab accepted the cancel, reaches it before that.
	startSharedPolling(t, fake, u, a, time.Minute, 2*time.Second)
	a.Say("U-alice", "C1", "run slow")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fake.WaitJobStatus(ctx, "slow", "running"); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.WaitFor("C1", func(r bot.Reply) bool { return len(r.Links) > 0 }, 10*time.Second); !ok {
		t.Fatal("the progress reply never linked the pipeline")
	}
	startShared(t, fake, u, b, time.Minute)
	// The run may have recorded its pipeline a moment after its reply
	// showed it: "no pipeline yet" is answered then, and asked again.
	for try := 0; ; try++ {
		r, _ := b.FinalIn(t, "C1", b.Ask("U-alice", "C1", "cancel"))
		if r.Status == bot.StatusInfo && strings.HasPrefix(r.Title, "Canceling slow") {
			break
		}
		if try == 5 || !strings.Contains(r.Title, "no pipeline yet") {
			t.Fatalf("cancel on the other process: %q / %q", r.Title, r.Text)
		}
		time.Sleep(100 * time.Millisecond)
	}
	final, ok := a.WaitFor("C1", func(r bot.Reply) bool { return r.Title == "slow was canceled" }, 10*time.Second)
	if !ok {
		t.Fatalf("the follower never answered: %+v", a.Messages("C1"))
	}
	if !strings.Contains(final.Text, "Canceled from chat by test:U-alice") {
		t.Fatalf("the follower's answer does not say who canceled: %q", final.Text)
	}
	if m := b.Messages("C1"); len(m) != 1 {
		t.Fatalf("the process that canceled posted %d messages, want its one answer", len(m))
	}
}
