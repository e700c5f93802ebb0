package adaptertest

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
	"github.com/chatops-dev/chatops/plugins/run"
)

// DemoRun starts the demo GitLab fake (whose jobs really run) and returns
// it with a run plugin over it, in which identity ("platform:userID") is
// the demo's Maintainer. Both are cleaned up with t.
func DemoRun(t testing.TB, identity string) (*gitlabtest.Demo, *run.Plugin) {
	t.Helper()
	demo, err := gitlabtest.NewDemo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(demo.Close)
	svc, err := gitlab.New(gitlab.Config{
		URL: demo.URL, Token: demo.Token, Project: demo.Project, PlayManual: true,
		PollInterval: 20 * time.Millisecond, ReplyTimeout: 20 * time.Second, ExtractWait: time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Identities: map[string]string{identity: demo.User},
	})
	if err != nil {
		t.Fatal(err)
	}
	return demo, run.New(svc)
}
