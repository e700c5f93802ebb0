package gitlab_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/gitlab"
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
