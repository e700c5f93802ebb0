package gitlab

import (
	"github.com/chatops-dev/chatops/bot/bottest"
	"path/filepath"
	"strings"
	"testing"
)

func sampleIssue() Issue {
	return Issue{IID: 13, Title: "Deploy button does nothing on Safari", State: "opened", Labels: []string{"bug", "frontend"},
		Assignees: []string{"alice", "bob"}, Author: "rita", Comments: 3, Project: "ops/app",
		WebURL: "https://gitlab.example.com/ops/app/-/issues/13",
		Description: "Clicking **Deploy** shows a spinner forever on Safari 17.\n\nSteps:\n1. Open the pipeline page\n2. Click Deploy\n\nExpected: the job starts." +
			strings.Repeat("\nMore detail.", 20)}
}

func sampleList() IssueList {
	is := sampleIssue()
	other := Issue{IID: 7, Title: "Document   the deploy\ncommand", State: "closed", WebURL: "https://gitlab.example.com/ops/app/-/issues/7", Project: "ops/app"}
	return IssueList{Query: "deploy", Project: "ops/app", Issues: []Issue{is, other}, Total: 12,
		SearchURL: "https://gitlab.example.com/ops/app/-/issues?scope=all&state=all&search=deploy"}
}

func TestRenderIssueGolden(t *testing.T) {
	closed := sampleIssue()
	closed.State, closed.Confidential, closed.Labels, closed.Assignees, closed.Description = "closed", true, nil, nil, ""
	tests := map[string]struct {
		reply func() string
	}{
		"issue_card":   {func() string { r := IssueCard(sampleIssue(), ""); return r.Status.String() + "\n" + r.Plain() }},
		"issue_closed": {func() string { r := IssueCard(closed, "Issue closed"); return r.Status.String() + "\n" + r.Plain() }},
		"issue_search": {func() string { r := IssueResults(sampleList()); return r.Status.String() + "\n" + r.Plain() }},
		"issue_search_no": {func() string {
			r := IssueResults(IssueList{Query: "nope", Project: "ops/app", SearchURL: "https://x/"})
			return r.Status.String() + "\n" + r.Plain()
		}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := "status: " + tt.reply() + "\n"
			path := filepath.Join("testdata", "golden", name+".txt")
			bottest.Golden(t, path, got)
		})
	}
}

func TestTrimDescription(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"short", "  Fine.\r\n", "Fine."},
		{"many lines", strings.Repeat("line\n", 20), strings.TrimSuffix(strings.Repeat("line\n", 12), "\n") + " …"},
		{"long line cut at a word", strings.Repeat("word ", 200), strings.TrimSpace(strings.Repeat("word ", 120)) + " …"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TrimDescription(tt.in); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}
