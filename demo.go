package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chatops-dev/chatops/adapters/shell"
	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/commands"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
	"github.com/chatops-dev/chatops/plugins/gitlabplugins"
	"github.com/chatops-dev/chatops/plugins/ping"
	runplugin "github.com/chatops-dev/chatops/plugins/run"
	"github.com/chatops-dev/chatops/plugins/run/policy"
	"github.com/chatops-dev/chatops/store/sqlite"
)

// setupDemo is `go run .` with no configuration: the terminal adapter
// against the simulated GitLab, whose demo jobs really run. The links in
// its replies open the simulated GitLab's pages (job logs as text).
func setupDemo(ctx context.Context, o options, stdin io.Reader, stdout, stderr io.Writer) (*app, error) {
	sh := shell.New(shell.Config{In: stdin, Out: stdout})
	logOut := stderr
	if sh.Interactive() {
		logOut = sh.LogWriter(stderr)
	}
	log := newLogger(logOut, logLevel("warn", sh.Interactive(), o.verbose), "text", nil)
	demo, err := gitlabtest.NewDemo(ctx)
	if err != nil {
		return nil, fmt.Errorf("start the simulated GitLab: %w", err)
	}
	svc, err := gitlab.New(gitlab.Config{
		URL: demo.URL, Token: demo.Token, Project: demo.Project, PlayManual: true,
		ExtractWait: 5 * time.Second, ExtractInterval: 250 * time.Millisecond, ReplyFile: gitlab.DefaultReplyFile,
		Identities: map[string]string{"shell:" + sh.User(): demo.User}, Logger: log,
	})
	if err != nil {
		demo.Close()
		return nil, err
	}
	// The demo's runs are kept in a throwaway SQLite file.
	dir, err := os.MkdirTemp("", "chatops-demo-")
	if err != nil {
		demo.Close()
		return nil, err
	}
	a := &app{log: log, closers: []func(){demo.Close, func() { _ = os.RemoveAll(dir) }}}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "chatops.db"))
	if err != nil {
		a.close()
		return nil, err
	}
	a.closers = append(a.closers, func() { _ = st.Close() })
	router := commands.NewRouter("chatops")
	set, err := gitlabplugins.New([]gitlabplugins.Project{{Path: demo.Project, GitLab: svc, Default: true}},
		runplugin.Options{Store: st, PollInterval: 250 * time.Millisecond, ReplyTimeout: 5 * time.Minute, Logger: log,
			// As [jobs.greet] variables = ["GREETING"] would: run greet Ada GREETING=Hi
			Policy: policy.Set{Global: map[string]policy.Rule{"greet": {Variables: []string{"GREETING"}}}}})
	if err != nil {
		a.close()
		return nil, err
	}
	for _, p := range append([]commands.Plugin{ping.New(version())}, set.Plugins()...) {
		if err := router.Add(p); err != nil {
			a.close()
			return nil, err
		}
	}
	// A push deploys staging, for deploy staging to production.
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = demo.DeployStaging(dctx)
	cancel()
	if err != nil {
		a.close()
		return nil, fmt.Errorf("start the simulated GitLab: %w", err)
	}
	fmt.Fprint(stdout, demoBanner(demo))
	a.commands = commandNames(router)
	a.bot = bot.New(router, bot.Options{Logger: log, DrainTimeout: 6 * time.Minute, Claims: st}, sh)
	return a, nil
}

func demoBanner(demo *gitlabtest.Demo) string {
	var b strings.Builder
	b.WriteString("chatops demo: no configuration given, so this is the terminal adapter talking to a\n")
	b.WriteString("SIMULATED GitLab (project " + demo.Project + "): its jobs really run on this machine with bash\n")
	b.WriteString("in a temporary directory and write GitLab Runner logs. Jobs you can run:\n")
	for _, j := range demo.Jobs {
		fmt.Fprintf(&b, "  run %-12s %s\n", j.Name, j.Description)
	}
	b.WriteString("Try: run hello-world, run ls, run greet Ada, deploy staging to production,\n")
	b.WriteString("issue show 1, issue search deploy, issue new <title>, help. Ctrl-D quits.\n")
	b.WriteString("The links in replies open the simulated GitLab's pages while the demo runs.\n")
	b.WriteString("With -config FILE (see config.example.toml) chatops connects to real services.\n\n")
	return b.String()
}
