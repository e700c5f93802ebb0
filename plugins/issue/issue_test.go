package issue_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
	"github.com/chatops-dev/chatops/plugins/internal/plugintest"
)

// newEnv starts the bot over a fake whose default project holds:
// #1 a bug assigned to alice, #2 a confidential issue by mia, #3 an
// issue with a locked discussion, #4 a closed one, #5 and #6 to close
// and move, #7..#13 flaky tests (for a search with more than five hits).
func newEnv(t *testing.T) *plugintest.Env {
	e := plugintest.New(t, plugintest.CI)
	gl := e.GL
	gl.AddIssue(gitlabtest.Issue{Title: "Deploy button broken", Description: "It spins forever.", Labels: []string{"bug"}, Author: "alice", Assignees: []string{"alice"}})
	gl.AddIssue(gitlabtest.Issue{Title: "Security hole", Description: "Do not tell anyone.", Author: "mia", Confidential: true})
	gl.AddIssue(gitlabtest.Issue{Title: "Heated debate", Locked: true})
	gl.AddIssue(gitlabtest.Issue{Title: "Old news", Closed: true})
	gl.AddIssue(gitlabtest.Issue{Title: "To close"})
	gl.AddIssue(gitlabtest.Issue{Title: "To move", Description: "Belongs to infra."})
	for range 7 {
		gl.AddIssue(gitlabtest.Issue{Title: "Flaky test"})
	}
	e.Infra.AddIssue(gitlabtest.Issue{Title: "Infra thing"})
	return e
}

type check struct {
	name, user, channel, text string
	status                    bot.Status
	title, body               string // substrings of the reply's title and text
}

func (c check) run(t *testing.T, e *plugintest.Env) bot.Reply {
	t.Helper()
	channel := c.channel
	if channel == "" {
		channel = "C-" + c.name
	}
	r := e.Say(c.user, channel, c.text)
	if r.Status != c.status || !strings.Contains(r.Title, c.title) || !strings.Contains(r.Text, c.body) {
		t.Fatalf("%s: reply [%s] %q / %q, want [%s] %q / %q", c.text, r.Status, r.Title, r.Text, c.status, c.title, c.body)
	}
	return r
}

func TestIssueReadCommands(t *testing.T) {
	e := newEnv(t)
	tests := []check{
		{name: "show", user: "alice", text: "issue show 1", status: bot.StatusInfo, title: "#1 Deploy button broken", body: "It spins forever."},
		{name: "show hash", user: "gus", text: "issue show #1", status: bot.StatusInfo, title: "#1 Deploy button broken"},
		{name: "show not found", user: "alice", text: "issue show 99", status: bot.StatusError, title: "Issue #99 not found in demo/chatops"},
		{name: "show bad id", user: "alice", text: "issue show first", status: bot.StatusError, title: "Which issue?"},
		{name: "confidential hidden from a guest", user: "gus", text: "issue show 2", status: bot.StatusError, title: "Issue #2 not found"},
		{name: "confidential shown to a reporter", user: "rita", text: "issue show 2", status: bot.StatusInfo, title: "#2 Security hole"},
		{name: "private project, not a member", user: "olga", text: "issue show 1", status: bot.StatusError, title: "You cannot see demo/chatops", body: "Guest"},
		{name: "unmapped user", user: "nobody", text: "issue show 1", status: bot.StatusError, title: "not linked", body: `"test:U-nobody"`},
		{name: "blocked user", user: "bob", text: "issue show 1", status: bot.StatusError, title: "GitLab user bob is blocked"},
		{name: "unknown GitLab user", user: "ghost", text: "issue show 1", status: bot.StatusError, title: "GitLab user ghost does not exist"},
		{name: "search", user: "alice", text: "issue search deploy", status: bot.StatusInfo, title: `1 issue in demo/chatops matches "deploy"`, body: "#1 Deploy button broken — open · bug · @alice"},
		{name: "search many", user: "alice", text: "issue search flaky", status: bot.StatusInfo, title: `7 issues in demo/chatops match "flaky"; the newest 5`},
		{name: "search hides confidential from a guest", user: "gus", text: "issue search security", status: bot.StatusInfo, title: "No issues"},
		{name: "search shows confidential to a reporter", user: "rita", text: "issue search security", status: bot.StatusInfo, title: "1 issue"},
		{name: "search nothing", user: "alice", text: "issue search", status: bot.StatusError, title: "Search for what?"},
		{name: "scoped project", user: "mia", text: "infra issue show 1", status: bot.StatusInfo, title: "#1 Infra thing"},
		{name: "bound channel", user: "mia", channel: "C-infra", text: "issue show 1", status: bot.StatusInfo, title: "#1 Infra thing"},
		{name: "no subcommand", user: "alice", text: "issue", status: bot.StatusError, title: "What should I do with issues?"},
		{name: "unknown subcommand", user: "alice", text: "issue reopen 4", status: bot.StatusError, title: "Unknown issue command reopen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, e) })
	}
	t.Run("search links", func(t *testing.T) {
		r := e.Say("alice", "C-links", "issue search flaky")
		if len(r.Links) != 6 || r.Links[5].Label != "All results in GitLab" || !strings.Contains(r.Links[5].URL, "search=flaky") {
			t.Fatalf("links %+v: want the 5 issues and the full search", r.Links)
		}
	})
	t.Run("card", func(t *testing.T) {
		r := e.Say("alice", "C-card", "issue show 1")
		want := []bot.Field{{Name: "State", Value: "open"}, {Name: "Labels", Value: "bug"}, {Name: "Assignees", Value: "@alice"}, {Name: "Author", Value: "@alice"}}
		if len(r.Fields) != len(want) {
			t.Fatalf("fields %+v, want %+v", r.Fields, want)
		}
		for i := range want {
			if r.Fields[i] != want[i] {
				t.Fatalf("fields %+v, want %+v", r.Fields, want)
			}
		}
		if len(r.Links) != 1 || !strings.HasSuffix(r.Links[0].URL, "/demo/chatops/-/issues/1") {
			t.Fatalf("links %+v: want the issue", r.Links)
		}
	})
}

func TestIssueWriteCommands(t *testing.T) {
	e := newEnv(t)
	tests := []check{
		{name: "new by a guest", user: "gus", text: "issue new Login fails\nWith a 500.\nEvery time.", status: bot.StatusSuccess, title: "Issue opened: #14 Login fails"},
		{name: "new without a title", user: "gus", text: "issue new", status: bot.StatusError, title: "needs a title"},
		{name: "new by a non-member", user: "olga", text: "issue new Hello", status: bot.StatusError, title: "You cannot see demo/chatops"},
		{name: "new by an unmapped user", user: "nobody", text: "issue new Hello", status: bot.StatusError, title: "not linked"},
		{name: "close by a guest", user: "gus", text: "issue close 5", status: bot.StatusError, title: "You may not close issues in demo/chatops", body: "Reporter"},
		{name: "close by a reporter", user: "rita", text: "issue close 5", status: bot.StatusSuccess, title: "Issue closed: #5 To close", body: ""},
		{name: "close again", user: "rita", text: "issue close 5", status: bot.StatusInfo, title: "Already closed: #5"},
		{name: "close not found", user: "rita", text: "issue close 99", status: bot.StatusError, title: "Issue #99 not found"},
		{name: "comment by a guest", user: "gus", text: "issue comment 1\nSeen it too.", status: bot.StatusSuccess, title: "Comment added: #1", body: "Seen it too."},
		{name: "comment on one line", user: "gus", text: "issue comment #1 Me too", status: bot.StatusSuccess, title: "Comment added: #1", body: "Me too"},
		{name: "comment empty", user: "gus", text: "issue comment 1", status: bot.StatusError, title: "The comment is empty"},
		{name: "comment locked", user: "gus", text: "issue comment 3 hi", status: bot.StatusError, title: "locked"},
		{name: "comment locked by a reporter", user: "rita", text: "issue comment 3 calm down", status: bot.StatusSuccess, title: "Comment added: #3"},
		{name: "comment confidential by a guest", user: "gus", text: "issue comment 2 hi", status: bot.StatusError, title: "Issue #2 not found"},
		{name: "move by a guest", user: "gus", text: "issue move 6 to group/infra", status: bot.StatusError, title: "You may not move issues in demo/chatops"},
		{name: "move to a project where a guest", user: "alice", text: "issue move 6 to group/infra", status: bot.StatusError, title: "You may not move issues to group/infra", body: "a Guest in group/infra"},
		{name: "move to an unknown project", user: "rita", text: "issue move 6 to nowhere/else", status: bot.StatusError, title: "Project nowhere/else not found"},
		{name: "move to the same project", user: "rita", text: "issue move 6 demo/chatops", status: bot.StatusError, title: "GitLab refused the request", body: "Cannot move issue to project it originates from"},
		{name: "move by alias", user: "rita", text: "issue move 6 to infra", status: bot.StatusSuccess, title: "Issue #6 moved to group/infra: #2 To move"},
		{name: "move usage", user: "rita", text: "issue move 6", status: bot.StatusError, title: "Move which issue where?"},
		{name: "scoped new", user: "mia", text: "infra issue new From chat", status: bot.StatusSuccess, title: "Issue opened: #3 From chat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, e) })
	}
	// What GitLab holds now.
	byIID := map[string]gitlabtest.IssueInfo{}
	for _, p := range []string{"", "group/infra"} {
		for _, is := range e.GL.Issues(p) {
			byIID[is.Project+"#"+strconv.FormatInt(is.IID, 10)] = is
		}
	}
	if is := byIID["demo/chatops#14"]; is.Title != "Login fails" || !strings.HasPrefix(is.Description, "With a 500.\nEvery time.") || !strings.Contains(is.Description, "by @gus via chatops") {
		t.Errorf("new issue %+v: want the description and who asked", is)
	}
	if is := byIID["demo/chatops#5"]; is.State != "closed" {
		t.Errorf("issue 5 is %s", is.State)
	}
	if n := byIID["demo/chatops#1"].Notes; len(n) != 2 || !strings.HasPrefix(n[0], "Seen it too.") || !strings.Contains(n[1], "by @gus") {
		t.Errorf("notes of #1: %q", n)
	}
	if is := byIID["demo/chatops#6"]; is.MovedTo != "group/infra#2" || is.State != "closed" {
		t.Errorf("issue 6: %+v, want moved to group/infra#2", is)
	}
	if n := byIID["demo/chatops#3"].Notes; len(n) != 1 {
		t.Errorf("notes of the locked #3: %q", n)
	}
}

func TestIssueGitLabErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, method, path string
		times, status      int
		text               string
		check              check
	}{
		{"server error (after the client's retries)", "GET", "/projects/42/issues/1", 5, 502, "issue show 1", check{user: "alice", status: bot.StatusError, title: "GitLab is having trouble", body: "502"}},
		{"token revoked", "GET", "/projects/demo/chatops", 1, 401, "issue search x", check{user: "alice", status: bot.StatusError, title: "GitLab rejected the bot's token"}},
		{"rate limited, never retried", "POST", "/projects/42/issues", 1, 429, "issue new Hi", check{user: "alice", status: bot.StatusError, title: "GitLab is rate limiting the bot"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.GL.Fail(tt.method, tt.path, tt.times, tt.status, "")
			tt.check.name, tt.check.text = tt.name, tt.text
			tt.check.run(t, e)
		})
	}
	// Nothing was created by the refused request, nor by a retry.
	if n := len(e.GL.Issues("")); n != 13 {
		t.Fatalf("%d issues, want the 13 there were", n)
	}
}
