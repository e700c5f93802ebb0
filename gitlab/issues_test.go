package gitlab_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/bottest"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
)

// TestIssueOfMembersOnlyIssuesIsNotShownToANonMember: on a public project
// whose Issues feature is "Only Project Members" (issues_access_level
// private), a signed-in non-member cannot see issues in GitLab; with the
// feature "disabled" nobody can. The bot reads them with its own (member)
// token, so every issue command must hide them as GitLab does ("not
// found"), while a Guest still sees members-only issues.
func TestIssueOfMembersOnlyIssuesIsNotShownToANonMember(t *testing.T) {
	fake := gitlabtest.New(gitlabtest.Options{})
	t.Cleanup(fake.Close)
	fake.AddUser("eve", 0)
	fake.AddUser("gina", gitlabtest.Guest)
	fake.AddUser("mia", gitlabtest.Maintainer)
	proj := fake.DefaultProject()
	proj.SetPublic(true)
	iid := fake.AddIssue(gitlabtest.Issue{Title: "Internal: rotate the prod DB password"})
	other := fake.AddProject("g/other", "")
	other.SetPublic(true)
	other.AddMember("mia", gitlabtest.Maintainer)
	svc, err := gitlab.New(gitlab.Config{URL: fake.URL(), Token: fake.Token, Project: fake.ProjectPath, Logger: bottest.Quiet(), RetryBackoff: time.Millisecond,
		Identities: map[string]string{"t:eve": "eve", "t:gina": "gina", "t:mia": "mia"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	commands := map[string]func(identity string) error{
		"show":    func(id string) error { _, err := svc.Issue(ctx, id, iid); return err },
		"search":  func(id string) error { _, err := svc.SearchIssues(ctx, id, "rotate"); return err },
		"new":     func(id string) error { _, err := svc.CreateIssue(ctx, id, "t", "d"); return err },
		"comment": func(id string) error { _, err := svc.CommentIssue(ctx, id, iid, "c"); return err },
		"close":   func(id string) error { _, _, err := svc.CloseIssue(ctx, id, iid); return err },
	}
	refused := func(t *testing.T, who, what string, err error) {
		t.Helper()
		var ref *bot.Refusal
		if !errors.As(err, &ref) || !strings.Contains(ref.Title, "not found") {
			t.Errorf("%s %s: %v, want a not-found refusal", who, what, err)
		}
	}
	t.Run("members only", func(t *testing.T) {
		proj.SetIssuesAccess("private")
		for what, run := range commands {
			refused(t, "eve", what, run("t:eve"))
		}
		for _, what := range []string{"show", "search", "comment"} {
			if err := commands[what]("t:gina"); err != nil {
				t.Errorf("a Guest: %s: %v", what, err)
			}
		}
	})
	t.Run("disabled", func(t *testing.T) {
		proj.SetIssuesAccess("disabled")
		for what, run := range commands {
			refused(t, "mia", what, run("t:mia"))
		}
	})
	t.Run("move to a project whose issues are off", func(t *testing.T) {
		proj.SetIssuesAccess("enabled")
		other.SetIssuesAccess("disabled")
		_, err := svc.MoveIssue(ctx, "t:mia", iid, "g/other")
		refused(t, "mia", "move", err)
	})
	// Only gina's comment got through.
	if list := fake.Issues(""); len(list) != 1 || len(list[0].Notes) != 1 || list[0].State != "opened" {
		t.Errorf("refused commands changed the issues: %+v", list)
	}
}
