package storetest

import (
	"bytes"
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/store"
)

// The upgrade fixture: one of every kind of row, written by a store of an
// earlier release (WriteFixture, run at that release) into a database
// each store keeps in its testdata, and read back by today's store
// (CheckFixture). A bot upgraded in place opens the database it has:
// every value must read back as it was written, and take writes.

var (
	// FixtureT0 is the fixture's times' origin.
	FixtureT0 = time.Date(2026, 11, 30, 9, 15, 42, 123456000, time.UTC)
	// FixtureFar is when the fixture's run's lease and the confirmation
	// lapse: far enough that the test never sees them lapse.
	FixtureFar = time.Date(2099, 1, 2, 3, 4, 5, 6000, time.UTC)
)

// FixtureRuns are the runs in the fixture: one with every field set, one
// with every optional field empty, one done.
func FixtureRuns() []*store.Run {
	return []*store.Run{
		{ID: "run-full", Kind: "run", Platform: "slack", ChannelID: "C1", ThreadID: "1700000000.000100", Direct: false,
			Handle: "r1?u=https%3A%2F%2Fhooks.slack.com%2Fx", ReplyID: "1700000000.000200", Requester: "slack:U1", UserID: "U1",
			GitLabUser: "alice", Project: "ops/app", ProjectID: 42, Ref: "main", Job: "deploy", Args: "production VERSION=1.2",
			PipelineID: 7, PipelineURL: "https://gitlab.example.com/ops/app/-/pipelines/7", JobID: 70,
			JobURL: "https://gitlab.example.com/ops/app/-/jobs/70", Status: "running",
			Notes: []string{"Canceled from chat by bob.", "naïve ünïcode ✓"}, Phase: store.PhaseFollowing,
			Deadline: FixtureT0.Add(time.Hour), Answer: []byte(`{"title":"x"}`), Attempts: 2, NextAttempt: FixtureT0.Add(time.Minute),
			Owner: "replica-a", LeaseUntil: FixtureFar},
		{ID: "run-empty", Kind: "run", Platform: "shell", ChannelID: "tty", Requester: "shell:me", UserID: "me",
			Project: "ops/app", Job: "hello-world", Phase: store.PhaseCreating},
		{ID: "run-done", Kind: "run", Platform: "discord", ChannelID: "D9", Direct: true, Requester: "discord:9", UserID: "9",
			Project: "ops/app", ProjectID: 42, Job: "fail", PipelineID: 8, Status: "failed", Phase: store.PhaseDone},
	}
}

// FixtureIdentity is the fixture's linked identity (its tokens stand
// for sealed bytes).
var FixtureIdentity = store.Identity{Chat: "mattermost:u1", GitLabUserID: 5, GitLabUsername: "alice",
	AccessToken: []byte{0, 1, 2, 250}, RefreshToken: []byte("sealed refresh"), ExpiresAt: FixtureT0.Add(2 * time.Hour), LinkedAt: FixtureT0}

// FixtureConfirmation is the fixture's pending confirmation.
var FixtureConfirmation = store.Confirmation{Code: "K7Q2", Requester: "slack:U1", UserID: "U1", Platform: "slack", ChannelID: "C1",
	ThreadID: "1700000000.000100", Handle: "h", Project: "ops/app", Job: "deploy", Ref: "v1", Args: "production", ExpiresAt: FixtureFar}

// WriteFixture writes the fixture into s. It runs at the release whose
// database a store's testdata keeps, not in today's tests.
func WriteFixture(ctx context.Context, t testing.TB, s store.Store) {
	for _, r := range FixtureRuns() {
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
	id := FixtureIdentity
	if err := s.SaveIdentity(ctx, &id); err != nil {
		t.Fatal(err)
	}
	c := FixtureConfirmation
	if err := s.CreateConfirmation(ctx, &c); err != nil {
		t.Fatal(err)
	}
}

// CheckFixture reads the fixture back from s, a store opened on a
// database WriteFixture wrote, and writes to it. leasesEnded says the
// store ends a previous process's leases when it opens (SQLite: the file
// is one process's), so the leased run's lease is gone.
func CheckFixture(ctx context.Context, t testing.TB, s store.Store, leasesEnded bool) {
	t.Helper()
	for _, want := range FixtureRuns() {
		got, err := s.GetRun(ctx, want.ID)
		if err != nil {
			t.Fatalf("run %s: %v", want.ID, err)
		}
		if got.CreatedAt.IsZero() || got.Version != 1 {
			t.Errorf("run %s: created %v, version %d", want.ID, got.CreatedAt, got.Version)
		}
		want.CreatedAt, want.UpdatedAt, want.Version = got.CreatedAt, got.UpdatedAt, got.Version
		if leasesEnded {
			// The owner stays named; its lease is over.
			want.LeaseUntil = time.Time{}
		}
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
	id, err := s.GetIdentity(ctx, FixtureIdentity.Chat)
	if err != nil {
		t.Fatal(err)
	}
	if id.GitLabUsername != "alice" || id.GitLabUserID != 5 || !bytes.Equal(id.AccessToken, FixtureIdentity.AccessToken) ||
		!bytes.Equal(id.RefreshToken, FixtureIdentity.RefreshToken) || !id.ExpiresAt.Equal(FixtureIdentity.ExpiresAt) || !id.LinkedAt.Equal(FixtureT0) {
		t.Errorf("identity read back as %+v", id)
	}
	c, err := s.TakeConfirmation(ctx, "K7Q2", "slack:U1")
	if err != nil {
		t.Fatal(err)
	}
	if c.Job != "deploy" || c.Ref != "v1" || c.Args != "production" || c.ThreadID != FixtureConfirmation.ThreadID || !c.ExpiresAt.Equal(FixtureFar) {
		t.Errorf("confirmation read back as %+v", c)
	}

	// And the old rows take writes.
	r, _ := s.GetRun(ctx, "run-full")
	r.Notes = append(r.Notes, "one more")
	if err := s.SaveRun(ctx, r); err != nil || r.Version != 2 {
		t.Fatalf("save: %v, version %d", err, r.Version)
	}
	again, _ := s.GetRun(ctx, "run-full")
	if len(again.Notes) != 3 || again.Notes[1] != "naïve ünïcode ✓" || !again.Deadline.Equal(FixtureT0.Add(time.Hour)) {
		t.Errorf("after a save: notes %q, deadline %v", again.Notes, again.Deadline)
	}

	// The migrated database keeps pending links and their answers (the
	// fixture predates both).
	l := store.PendingLink{ID: "flow-up", Identity: "slack:U1", Platform: "slack", ChannelID: "D1", DeviceCode: []byte{1},
		ExpiresAt: time.Now().Add(time.Hour)}
	if err := s.CreatePendingLink(ctx, &l); err != nil {
		t.Fatalf("pending link: %v", err)
	}
	if ok, err := s.AnswerPendingLink(ctx, l.ID, []byte(`{"Title":"x"}`), "upgraded", time.Hour); err != nil || !ok {
		t.Fatalf("answering a pending link: %v, %v", ok, err)
	}
	if got, err := s.GetPendingLink(ctx, l.Identity); err != nil || string(got.Answer) != `{"Title":"x"}` || got.Owner != "upgraded" {
		t.Errorf("answered pending link read back as %+v, %v", got, err)
	}
}
