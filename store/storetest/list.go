// Listing runs: open ones, by conversation and requester, and limits.

package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/chatops-dev/chatops/store"
)

// create makes runs with the given ids and phases in order, so their
// creation order is their listing order.
func create(t testing.TB, s store.Store, runs ...store.Run) {
	t.Helper()
	for i := range runs {
		r := runs[i]
		mustCreate(t, s, &r)
	}
}

func testOpenRuns(t *testing.T, o Opener) {
	s := o.Open(t)
	if runs, err := s.OpenRuns(ctx(t)); err != nil || len(runs) != 0 {
		t.Fatalf("OpenRuns on an empty store = %v, %v", ids(runs), err)
	}
	create(t, s,
		store.Run{ID: "a", Phase: store.PhaseCreating},
		store.Run{ID: "b", Phase: store.PhaseDone},
		store.Run{ID: "c", Phase: store.PhaseFollowing},
		store.Run{ID: "d", Phase: store.PhaseAnswering},
		store.Run{ID: "e"}, // no phase yet: not done, so open
	)
	// Finishing a run takes it out; its age is its creation, not its save.
	c := mustGet(t, s, "c")
	c.Phase = store.PhaseDone
	if err := s.SaveRun(ctx(t), c); err != nil {
		t.Fatal(err)
	}
	a := mustGet(t, s, "a")
	a.Phase = store.PhaseFollowing
	if err := s.SaveRun(ctx(t), a); err != nil {
		t.Fatal(err)
	}
	runs, err := s.OpenRuns(ctx(t))
	if err != nil {
		t.Fatalf("OpenRuns: %v", err)
	}
	if got, want := ids(runs), []string{"a", "d", "e"}; !slices.Equal(got, want) {
		t.Fatalf("OpenRuns = %v, want %v (oldest first, done left out)", got, want)
	}
	if runs[0].Phase != store.PhaseFollowing || runs[0].Version != 2 {
		t.Errorf("OpenRuns returned a stale run: %+v", runs[0])
	}
}

func testListRunsFilters(t *testing.T, o Opener) {
	s := o.Open(t)
	create(t, s,
		store.Run{ID: "1", Platform: "slack", ChannelID: "C1", Requester: "slack:alice", Phase: store.PhaseDone},
		store.Run{ID: "2", Platform: "slack", ChannelID: "C2", Requester: "slack:alice", Phase: store.PhaseFollowing, Project: "group/infra"},
		store.Run{ID: "3", Platform: "discord", ChannelID: "C1", Requester: "discord:bob", Phase: store.PhaseFollowing},
		store.Run{ID: "4", Platform: "slack", ChannelID: "C1", Requester: "slack:bob", Phase: store.PhaseAnswering},
		store.Run{ID: "5", Platform: "slack", ChannelID: "C1", Requester: "slack:alice", Phase: store.PhaseDone},
	)
	for _, tc := range []struct {
		name string
		f    store.RunFilter
		want []string
	}{
		{"everything, newest first", store.RunFilter{}, []string{"5", "4", "3", "2", "1"}},
		{"one conversation", store.RunFilter{Platform: "slack", ChannelID: "C1"}, []string{"5", "4", "1"}},
		{"same channel id on another platform", store.RunFilter{Platform: "discord", ChannelID: "C1"}, []string{"3"}},
		{"platform only", store.RunFilter{Platform: "slack"}, []string{"5", "4", "2", "1"}},
		{"requester", store.RunFilter{Requester: "slack:alice"}, []string{"5", "2", "1"}},
		{"open only", store.RunFilter{OpenOnly: true}, []string{"4", "3", "2"}},
		{"everything combined", store.RunFilter{Platform: "slack", ChannelID: "C1", Requester: "slack:alice", OpenOnly: true}, nil},
		{"conversation and requester", store.RunFilter{Platform: "slack", ChannelID: "C1", Requester: "slack:alice"}, []string{"5", "1"}},
		{"limit", store.RunFilter{Limit: 2}, []string{"5", "4"}},
		{"limit with filter", store.RunFilter{Platform: "slack", Limit: 3}, []string{"5", "4", "2"}},
		{"no match", store.RunFilter{Requester: "nobody"}, nil},
		{"project", store.RunFilter{Project: "group/infra"}, []string{"2"}},
		{"project and conversation", store.RunFilter{Project: "group/infra", Platform: "slack", ChannelID: "C1"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runs, err := s.ListRuns(ctx(t), tc.f)
			if err != nil {
				t.Fatalf("ListRuns: %v", err)
			}
			if got := ids(runs); !slices.Equal(got, tc.want) {
				t.Fatalf("ListRuns(%+v) = %v, want %v", tc.f, got, tc.want)
			}
		})
	}
	// Listed runs are whole.
	runs, err := s.ListRuns(ctx(t), store.RunFilter{Requester: "discord:bob"})
	if err != nil || len(runs) != 1 {
		t.Fatalf("ListRuns = %v, %v", ids(runs), err)
	}
	equalRuns(t, runs[0], mustGet(t, s, "3"))
}

func testListRunsLimits(t *testing.T, o Opener) {
	if testing.Short() {
		t.Skip("creates 1001 runs")
	}
	s := o.Open(t)
	const n = store.MaxLimit + 1
	for i := range n {
		mustCreate(t, s, &store.Run{ID: fmt.Sprintf("run-%04d", i), Platform: "slack"})
	}
	for _, tc := range []struct {
		limit, want int
	}{
		{0, store.DefaultLimit},
		{-5, store.DefaultLimit},
		{1, 1},
		{store.MaxLimit, store.MaxLimit},
		{store.MaxLimit + 1, store.MaxLimit},
		{1 << 30, store.MaxLimit},
	} {
		runs, err := s.ListRuns(ctx(t), store.RunFilter{Limit: tc.limit})
		if err != nil {
			t.Fatalf("ListRuns(limit %d): %v", tc.limit, err)
		}
		if len(runs) != tc.want {
			t.Errorf("ListRuns(limit %d) returned %d runs, want %d", tc.limit, len(runs), tc.want)
			continue
		}
		if runs[0].ID != fmt.Sprintf("run-%04d", n-1) || runs[len(runs)-1].ID != fmt.Sprintf("run-%04d", n-tc.want) {
			t.Errorf("ListRuns(limit %d) = %s..%s, want the newest", tc.limit, runs[0].ID, runs[len(runs)-1].ID)
		}
	}
}

// testListRunsByIDPrefix: a prefix of the id, as typed in chat, matched
// literally (no wildcards), whatever the run's age.
func testListRunsByIDPrefix(t *testing.T, o Opener) {
	s := o.Open(t)
	create(t, s,
		store.Run{ID: "ab12", Phase: store.PhaseFollowing},
		store.Run{ID: "ab34", Phase: store.PhaseDone},
		store.Run{ID: "ac56", Phase: store.PhaseFollowing},
		store.Run{ID: "a%_7", Phase: store.PhaseFollowing},
	)
	for _, tc := range []struct {
		f    store.RunFilter
		want []string
	}{
		{store.RunFilter{IDPrefix: "ab"}, []string{"ab34", "ab12"}},
		{store.RunFilter{IDPrefix: "ab1"}, []string{"ab12"}},
		{store.RunFilter{IDPrefix: "ab12"}, []string{"ab12"}},
		{store.RunFilter{IDPrefix: "ab", OpenOnly: true}, []string{"ab12"}},
		{store.RunFilter{IDPrefix: "a%"}, []string{"a%_7"}},
		{store.RunFilter{IDPrefix: "a_"}, nil},
		{store.RunFilter{IDPrefix: "ab123"}, nil},
	} {
		runs, err := s.ListRuns(ctx(t), tc.f)
		if err != nil {
			t.Fatalf("ListRuns(%+v): %v", tc.f, err)
		}
		if got := ids(runs); !slices.Equal(got, tc.want) {
			t.Errorf("ListRuns(%+v) = %v, want %v", tc.f, got, tc.want)
		}
	}
}
