package gitlab_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/bot/bottest"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
)

// TestChatInputReachesTheJobAsTyped: GitLab expands $NAME and ${NAME} in
// pipeline variables created through the API ($$ is a literal $). The
// job must see CHAT_INPUT and the named variables exactly as typed, and
// `run echo $PROD_DB_PASSWORD` must not hand it, and so chat, the value of
// a project's secret variable.
func TestChatInputReachesTheJobAsTyped(t *testing.T) {
	fake := gitlabtest.New(gitlabtest.Options{CIConfig: "echo:\n  rules:\n    - if: $CHATOPS_JOB == \"echo\"\n  script:\n" +
		"    - 'printf \"input=%s|target=%s\\n\" \"$CHAT_INPUT\" \"$TARGET\"'\n"})
	t.Cleanup(fake.Close)
	fake.AddUser("alice", gitlabtest.Developer)
	fake.DefaultProject().SetVariable("PROD_DB_PASSWORD", "s3cret")
	svc, err := gitlab.New(gitlab.Config{URL: fake.URL(), Token: fake.Token, Project: fake.ProjectPath, Logger: bottest.Quiet(),
		RetryBackoff: time.Millisecond, Identities: map[string]string{"t:alice": "alice"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const args = "$PROD_DB_PASSWORD ${PROD_DB_PASSWORD} $$ cost $5"
	plan, err := svc.Prepare(ctx, gitlab.RunRequest{Job: "echo", Args: args, Identity: "t:alice", ChannelID: "C", UserID: "U",
		Variables: map[string]string{"TARGET": "$PROD_DB_PASSWORD"}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := svc.Create(ctx, plan, "run-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := fake.WaitJobStatus(ctx, "echo", "success"); err != nil {
		t.Fatal(err)
	}
	res, err := svc.FetchLog(ctx, fake.ProjectID, st.JobID, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := "input=" + args + "|target=$PROD_DB_PASSWORD"; !strings.Contains(res.Output, want) {
		t.Errorf("the job printed %q, want %q", res.Output, want)
	}
	if strings.Contains(res.Output, "s3cret") {
		t.Errorf("the secret reached the job's output: %q", res.Output)
	}
}
