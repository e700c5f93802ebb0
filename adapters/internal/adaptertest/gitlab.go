package adaptertest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/bot/bottest"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
	"github.com/chatops-dev/chatops/plugins/gitlabplugins"
	"github.com/chatops-dev/chatops/plugins/run"
	"github.com/chatops-dev/chatops/store/sqlite"
)

// DemoRun starts the demo GitLab fake (whose jobs really run) and returns
// it with a run plugin over it, storing runs in a SQLite file of the
// test's, in which identity ("platform:userID") is the demo's Maintainer.
// Adding the plugin to a router is enough: the bot serving that router
// runs its watcher. Everything is cleaned up with t.
func DemoRun(t testing.TB, identity string) (*gitlabtest.Demo, *run.Plugin) {
	t.Helper()
	demo, set := DemoPlugins(t, identity)
	return demo, set.Run
}

// DemoPlugins is DemoRun with every GitLab plugin (run, issue, deploy):
// add set.Plugins() to the router.
func DemoPlugins(t testing.TB, identity string) (*gitlabtest.Demo, *gitlabplugins.Set) {
	t.Helper()
	return DemoPluginsWith(t, identity, nil)
}

// DemoRunWith is DemoRun with the run options changed by tweak (a job
// policy, say) before the plugin is built.
func DemoRunWith(t testing.TB, identity string, tweak func(*run.Options)) (*gitlabtest.Demo, *run.Plugin) {
	t.Helper()
	demo, set := DemoPluginsWith(t, identity, tweak)
	return demo, set.Run
}

// DemoPluginsWith is DemoPlugins with the run options changed by tweak.
func DemoPluginsWith(t testing.TB, identity string, tweak func(*run.Options)) (*gitlabtest.Demo, *gitlabplugins.Set) {
	t.Helper()
	demo, err := gitlabtest.NewDemo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(demo.Close)
	svc, err := gitlab.New(gitlab.Config{
		URL: demo.URL, Token: demo.Token, Project: demo.Project, PlayManual: true, ExtractWait: time.Second,
		Logger: bottest.Quiet(), Identities: map[string]string{identity: demo.User},
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "chatops.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	opts := run.Options{Store: st, PollInterval: 20 * time.Millisecond, ReplyTimeout: 20 * time.Second, Logger: bottest.Quiet()}
	if tweak != nil {
		tweak(&opts)
	}
	set, err := gitlabplugins.New([]gitlabplugins.Project{{Path: demo.Project, GitLab: svc, Default: true}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return demo, set
}
