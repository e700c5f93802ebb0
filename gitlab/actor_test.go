package gitlab_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/bottest"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
)

// TestCreateActsAsTheActor: the pipeline is created with the linked
// user's token, given in the request or, for a plan rebuilt from a stored
// run, in the context; the bot's Private-Token is not sent with it.
func TestCreateActsAsTheActor(t *testing.T) {
	fake, svc := limitsEnv(t, nil)
	tok, _ := fake.IssueToken("alice")
	actor := gitlab.Actor{Token: tok, Username: "alice"}
	ctx := context.Background()
	plan, err := svc.Prepare(ctx, gitlab.RunRequest{Job: "hello", Identity: "t:unmapped", Actor: actor})
	if err != nil {
		t.Fatal(err)
	}
	if plan.User != "alice" {
		t.Errorf("plan.User = %q", plan.User)
	}
	if _, err := svc.Create(ctx, plan, "run-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	rebuilt := plan
	rebuilt.Actor = gitlab.Actor{}
	if _, err := svc.Create(gitlab.WithActor(ctx, actor), rebuilt, "run-2", time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, p := range fake.Pipelines() {
		if p.Token != tok {
			t.Errorf("pipeline %d created with %q, want the user's token", p.ID, p.Token)
		}
	}
	if s := fmt.Sprintf("%v %+v %#v", actor, plan, actor); strings.Contains(s, tok) {
		t.Errorf("printing an actor shows its token: %s", s)
	}
}

// TestActAsUserNeverFallsBackToTheBot: under act_as = "user" an unlinked
// request is refused in Prepare, and a plan without an actor in Create.
func TestActAsUserNeverFallsBackToTheBot(t *testing.T) {
	fake, svc := limitsEnv(t, func(c *gitlab.Config) { c.ActAs = gitlab.ActAsUser })
	ctx := context.Background()
	_, err := svc.Prepare(ctx, gitlab.RunRequest{Job: "hello", Identity: "t:alice"})
	var ref *bot.Refusal
	if !errors.As(err, &ref) || ref.Title != "Link your GitLab account first" {
		t.Fatalf("Prepare = %v", err)
	}
	plan := gitlab.Plan{Job: "hello", User: "alice", ProjectID: fake.ProjectID, Ref: "main"}
	if _, err := svc.Create(ctx, plan, "run-1", time.Now()); !errors.As(err, &ref) {
		t.Fatalf("Create = %v", err)
	}
	if n := len(fake.Pipelines()); n != 0 {
		t.Fatalf("%d pipelines created", n)
	}
}

// TestSudoForUnlinkedUsers: under act_as = "sudo" the bot's token
// creates the pipeline with the Sudo header naming the mapped user.
func TestSudoForUnlinkedUsers(t *testing.T) {
	fake, svc := limitsEnv(t, func(c *gitlab.Config) { c.ActAs = gitlab.ActAsSudo })
	ctx := context.Background()
	plan, err := svc.Prepare(ctx, gitlab.RunRequest{Job: "hello", Identity: "t:alice"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Create(ctx, plan, "run-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	if p := fake.Pipelines()[0]; p.Token != fake.Token || p.Sudo != "alice" {
		t.Fatalf("pipeline made with %q sudo %q", p.Token, p.Sudo)
	}
}

// TestIssueWritesActAsTheCaller: a new issue, a comment and a close are
// made as the caller in GitLab (their linked token, or Sudo), so GitLab
// records them as the author and checks their rights; only when the
// bot's own user writes does the text say who asked.
func TestIssueWritesActAsTheCaller(t *testing.T) {
	tests := []struct {
		name, actAs string
		linked      bool
		wantAuthor  string // "" when refused
		attributed  bool
	}{
		{"linked", gitlab.ActAsBot, true, "alice", false},
		{"bot", gitlab.ActAsBot, false, "chatops-bot", true},
		{"sudo", gitlab.ActAsSudo, false, "alice", false},
		{"user, unlinked", gitlab.ActAsUser, false, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, svc := limitsEnv(t, func(c *gitlab.Config) { c.ActAs = tt.actAs })
			ctx := context.Background()
			if tt.linked {
				tok, _ := fake.IssueToken("alice")
				ctx = gitlab.WithActor(ctx, gitlab.Actor{Token: tok, Username: "alice", Identity: "t:alice"})
			}
			is, err := svc.CreateIssue(ctx, "t:alice", "Deploy button broken", "It does nothing.")
			if tt.wantAuthor == "" {
				var ref *bot.Refusal
				if !errors.As(err, &ref) || ref.Title != "Link your GitLab account first" {
					t.Fatalf("CreateIssue = %v, want the link refusal", err)
				}
				if n := len(fake.Issues("")); n != 0 {
					t.Fatalf("%d issues created", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.CommentIssue(ctx, "t:alice", is.IID, "Seen on staging too."); err != nil {
				t.Fatal(err)
			}
			if _, _, err := svc.CloseIssue(ctx, "t:alice", is.IID); err != nil {
				t.Fatal(err)
			}
			got := fake.Issues("")[0]
			if got.Author != tt.wantAuthor || got.ClosedBy != tt.wantAuthor || len(got.NoteAuthors) != 1 || got.NoteAuthors[0] != tt.wantAuthor {
				t.Errorf("author %q, closed by %q, comment by %v; want all %q", got.Author, got.ClosedBy, got.NoteAuthors, tt.wantAuthor)
			}
			attributed := strings.Contains(got.Description, "via chatops") && strings.Contains(got.Notes[0], "via chatops")
			if attributed != tt.attributed {
				t.Errorf("attribution in %q / %q: %v, want %v", got.Description, got.Notes[0], attributed, tt.attributed)
			}
		})
	}
}

// TestSudoNeedsAnAdminToken: GitLab honours Sudo only for an
// administrator's token; the start-up check says so, and a run that
// meets the 403 anyway is told what the operator must change.
func TestSudoNeedsAnAdminToken(t *testing.T) {
	fake := gitlabtest.New(gitlabtest.Options{CIConfig: limitsCI})
	t.Cleanup(fake.Close)
	fake.AddUser("alice", gitlabtest.Developer)
	svc, err := gitlab.New(gitlab.Config{URL: fake.URL(), Token: fake.Token, Project: fake.ProjectPath, Logger: bottest.Quiet(),
		RetryBackoff: time.Millisecond, ActAs: gitlab.ActAsSudo, Identities: map[string]string{"t:alice": "alice"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err = svc.Check(ctx)
	var ce *gitlab.CheckError
	if !errors.As(err, &ce) || !ce.Permanent || !strings.Contains(ce.Error(), "administrator") || !strings.Contains(ce.Error(), "act_as") {
		t.Fatalf("Check = %v, want a permanent error about the admin token", err)
	}
	plan, err := svc.Prepare(ctx, gitlab.RunRequest{Job: "hello", Identity: "t:alice"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.Create(ctx, plan, "run-1", time.Now())
	var ref *bot.Refusal
	if !errors.As(err, &ref) || !strings.Contains(ref.Text, `act_as = "sudo"`) {
		t.Fatalf("Create = %v, want the sudo refusal", err)
	}
	if n := len(fake.Pipelines()); n != 0 {
		t.Fatalf("%d pipelines created", n)
	}
}
