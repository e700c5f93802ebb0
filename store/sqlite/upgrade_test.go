package sqlite

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/store"
)

// fixtureDB is a database written by the store as it was before its
// statements were shared with PostgreSQL (store/internal/sqlstore), with
// writeFixture below at commit 33349cb. A bot upgraded in place opens the
// file it has: every value must read back as it was written.
const fixtureDB = "testdata/written-by-33349cb.db"

var (
	fixtureT0 = time.Date(2026, 11, 30, 9, 15, 42, 123456000, time.UTC)
	// fixtureFar is when the fixture's run's lease and the confirmation
	// lapse: far enough that the test never sees them lapse.
	fixtureFar = time.Date(2099, 1, 2, 3, 4, 5, 6000, time.UTC)
)

// fixtureRuns are the runs in the fixture: one with every field set, one
// with every optional field empty, one done.
func fixtureRuns() []*store.Run {
	return []*store.Run{
		{ID: "run-full", Kind: "run", Platform: "slack", ChannelID: "C1", ThreadID: "1700000000.000100", Direct: false,
			Handle: "r1?u=https%3A%2F%2Fhooks.slack.com%2Fx", ReplyID: "1700000000.000200", Requester: "slack:U1", UserID: "U1",
			GitLabUser: "alice", Project: "ops/app", ProjectID: 42, Ref: "main", Job: "deploy", Args: "production VERSION=1.2",
			PipelineID: 7, PipelineURL: "https://gitlab.example.com/ops/app/-/pipelines/7", JobID: 70,
			JobURL: "https://gitlab.example.com/ops/app/-/jobs/70", Status: "running",
			Notes: []string{"Canceled from chat by bob.", "naïve ünïcode ✓"}, Phase: store.PhaseFollowing,
			Deadline: fixtureT0.Add(time.Hour), Answer: []byte(`{"title":"x"}`), Attempts: 2, NextAttempt: fixtureT0.Add(time.Minute),
			Owner: "replica-a", LeaseUntil: fixtureFar},
		{ID: "run-empty", Kind: "run", Platform: "shell", ChannelID: "tty", Requester: "shell:me", UserID: "me",
			Project: "ops/app", Job: "hello-world", Phase: store.PhaseCreating},
		{ID: "run-done", Kind: "run", Platform: "discord", ChannelID: "D9", Direct: true, Requester: "discord:9", UserID: "9",
			Project: "ops/app", ProjectID: 42, Job: "fail", PipelineID: 8, Status: "failed", Phase: store.PhaseDone},
	}
}

var fixtureIdentity = store.Identity{Chat: "mattermost:u1", GitLabUserID: 5, GitLabUsername: "alice",
	AccessToken: []byte{0, 1, 2, 250}, RefreshToken: []byte("sealed refresh"), ExpiresAt: fixtureT0.Add(2 * time.Hour), LinkedAt: fixtureT0}

var fixtureConfirmation = store.Confirmation{Code: "K7Q2", Requester: "slack:U1", UserID: "U1", Platform: "slack", ChannelID: "C1",
	ThreadID: "1700000000.000100", Handle: "h", Project: "ops/app", Job: "deploy", Ref: "v1", Args: "production", ExpiresAt: fixtureFar}

// writeFixture writes the fixture with the store of the day. It ran once,
// at the commit fixtureDB names: CHATOPS_WRITE_FIXTURE=path go test -run
// TestWriteFixture ./store/sqlite.
func writeFixture(ctx context.Context, t *testing.T, path string) {
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, r := range fixtureRuns() {
		if err := s.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := s.ClaimEvent(ctx, "slack:Ev1", 100*365*24*time.Hour); err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if err := s.SetCursor(ctx, "mattermost:since", "1700000000000"); err != nil {
		t.Fatal(err)
	}
	id := fixtureIdentity
	if err := s.SaveIdentity(ctx, &id); err != nil {
		t.Fatal(err)
	}
	c := fixtureConfirmation
	if err := s.CreateConfirmation(ctx, &c); err != nil {
		t.Fatal(err)
	}
}

func TestWriteFixture(t *testing.T) {
	path := os.Getenv("CHATOPS_WRITE_FIXTURE")
	if path == "" {
		t.Skip("writes the upgrade fixture: set CHATOPS_WRITE_FIXTURE")
	}
	writeFixture(t.Context(), t, path)
}

// TestOpensADatabaseWrittenBefore opens a copy of the fixture and reads
// back every value, then writes to it: an upgraded bot keeps its runs,
// claims, cursors, links and confirmations.
func TestOpensADatabaseWrittenBefore(t *testing.T) {
	ctx := context.Background()
	src, err := os.Open(fixtureDB)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	path := filepath.Join(t.TempDir(), "chatops.db")
	dst, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	dst.Close()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	for _, want := range fixtureRuns() {
		got, err := s.GetRun(ctx, want.ID)
		if err != nil {
			t.Fatalf("run %s: %v", want.ID, err)
		}
		if got.CreatedAt.IsZero() || got.Version != 1 {
			t.Errorf("run %s: created %v, version %d", want.ID, got.CreatedAt, got.Version)
		}
		want.CreatedAt, want.UpdatedAt, want.Version = got.CreatedAt, got.UpdatedAt, got.Version
		// Open ends the leases of the process that had the file before
		// (it is gone: the file is one process's); the owner stays named.
		want.LeaseUntil = time.Time{}
		if want.Notes == nil && len(got.Notes) == 0 {
			got.Notes = nil
		}
		if want.Answer == nil && len(got.Answer) == 0 {
			got.Answer = nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("run %s read back as\n%+v\nwritten as\n%+v", want.ID, got, want)
		}
	}
	open, err := s.OpenRuns(ctx)
	if err != nil || len(open) != 2 {
		t.Errorf("open runs: %d, %v; want run-full and run-empty", len(open), err)
	}
	if ok, err := s.ClaimEvent(ctx, "slack:Ev1", time.Hour); err != nil || ok {
		t.Errorf("the stored claim did not count: %v %v", ok, err)
	}
	if c, err := s.Cursor(ctx, "mattermost:since"); err != nil || c != "1700000000000" {
		t.Errorf("cursor %q, %v", c, err)
	}
	id, err := s.GetIdentity(ctx, fixtureIdentity.Chat)
	if err != nil {
		t.Fatal(err)
	}
	if id.GitLabUsername != "alice" || id.GitLabUserID != 5 || !bytes.Equal(id.AccessToken, fixtureIdentity.AccessToken) ||
		!bytes.Equal(id.RefreshToken, fixtureIdentity.RefreshToken) || !id.ExpiresAt.Equal(fixtureIdentity.ExpiresAt) || !id.LinkedAt.Equal(fixtureT0) {
		t.Errorf("identity read back as %+v", id)
	}
	c, err := s.TakeConfirmation(ctx, "K7Q2", "slack:U1")
	if err != nil {
		t.Fatal(err)
	}
	if c.Job != "deploy" || c.Ref != "v1" || c.Args != "production" || c.ThreadID != fixtureConfirmation.ThreadID || !c.ExpiresAt.Equal(fixtureFar) {
		t.Errorf("confirmation read back as %+v", c)
	}

	// And the old rows take writes.
	r, _ := s.GetRun(ctx, "run-full")
	r.Notes = append(r.Notes, "one more")
	if err := s.SaveRun(ctx, r); err != nil || r.Version != 2 {
		t.Fatalf("save: %v, version %d", err, r.Version)
	}
	again, _ := s.GetRun(ctx, "run-full")
	if len(again.Notes) != 3 || again.Notes[1] != "naïve ünïcode ✓" || !again.Deadline.Equal(fixtureT0.Add(time.Hour)) {
		t.Errorf("after a save: notes %q, deadline %v", again.Notes, again.Deadline)
	}
}
