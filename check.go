package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/gitlab"
)

// checkTimeout bounds each start-up check.
const checkTimeout = 20 * time.Second

// checkResult is one start-up check: what was checked, what was found.
type checkResult struct {
	name   string
	detail string // what was found, when it worked
	err    error
	// fatal: the bot cannot work this way and waiting will not help
	// (GitLab rejected the token, the URL is not GitLab).
	fatal bool
	// report is GitLab's, for the summary.
	report *gitlab.Report
}

// checkAll checks the store, GitLab (token, project, CI lint) and each
// adapter's credentials, concurrently. Results keep the order: store,
// gitlab, then the adapters as configured.
func checkAll(ctx context.Context, p *parts) []checkResult {
	type check struct {
		name string
		run  func(ctx context.Context) checkResult
	}
	checks := []check{{"store", func(ctx context.Context) checkResult {
		r := checkResult{detail: "reachable"}
		if p.cfg.Store.URL == "" {
			r.detail = "SQLite " + p.cfg.Store.Path
		}
		if err := p.store.Ping(ctx); err != nil {
			r.err = fmt.Errorf("the store does not answer: %w", err)
		}
		return r
	}}}
	for i, svc := range p.gitlabs {
		name := "gitlab"
		if i > 0 {
			name = "gitlab " + svc.Project()
		}
		checks = append(checks, check{name, func(ctx context.Context) checkResult {
			rep, err := svc.Check(ctx)
			if err != nil {
				var ce *gitlab.CheckError
				return checkResult{err: err, fatal: errors.As(err, &ce) && ce.Permanent}
			}
			return checkResult{report: &rep, detail: fmt.Sprintf("%s as @%s, project %s (branch %s), %d chat jobs",
				rep.URL, rep.User, rep.Project, rep.DefaultBranch, rep.ChatJobs)}
		}})
	}
	for _, a := range p.adapters {
		checks = append(checks, check{a.Name(), func(ctx context.Context) checkResult {
			c, ok := a.(bot.Checker)
			if !ok {
				return checkResult{detail: "no credentials to check"}
			}
			who, err := c.Check(ctx)
			return checkResult{detail: who, err: err}
		}})
	}
	out := make([]checkResult, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, checkTimeout)
			defer cancel()
			r := c.run(cctx)
			r.name = c.name
			out[i] = r
		})
	}
	wg.Wait()
	return out
}

// startupCheck runs checkAll and logs one line per check and a summary.
// A GitLab that rejects the token or is not GitLab at all stops the
// start: every run would fail. Anything else is logged and left to the
// adapters' reconnects and /readyz.
func startupCheck(ctx context.Context, p *parts) error {
	results := checkAll(ctx, p)
	var platforms, problems []string
	summary := []any{}
	for _, r := range results {
		if r.err != nil {
			p.log.Error("start-up check failed", "check", r.name, "err", r.err)
			problems = append(problems, r.name)
			if r.fatal {
				return fmt.Errorf("GitLab check failed: %w", r.err)
			}
			continue
		}
		p.log.Info("start-up check ok", "check", r.name, "found", r.detail)
		if r.name != "store" && !strings.HasPrefix(r.name, "gitlab") {
			platforms = append(platforms, r.name+" "+r.detail)
		}
		if r.report != nil {
			summary = append(summary, "gitlab", r.report.URL, "gitlab_user", r.report.User, "project", r.report.Project, "chat_jobs", r.report.ChatJobs)
		}
	}
	if len(p.gitlabs) == 0 {
		summary = append(summary, "gitlab", "not configured: run answers that it is off")
	}
	summary = append([]any{"platforms", strings.Join(platforms, "; ")}, summary...)
	if len(problems) > 0 {
		p.log.Warn("chatops starting with problems", append(summary, "problems", strings.Join(problems, ", "))...)
	} else {
		p.log.Info("chatops starting", summary...)
	}
	return nil
}

// runCheck is `chatops check -config FILE`: the start-up checks, printed
// for humans; exit status 0 when all pass, 1 otherwise.
func runCheck(ctx context.Context, o options, stdout, stderr io.Writer) int {
	if o.configPath == "" {
		fmt.Fprintln(stderr, "chatops check: give the configuration file: chatops check -config chatops.toml")
		return 2
	}
	cfg, err := loadConfig(o)
	if err != nil {
		fmt.Fprintf(stdout, "FAIL  config  %v\n", err)
		return 1
	}
	// The terminal adapter has nothing to check and must not read stdin.
	cfg.Shell = nil
	cfg.Log.Level = "error" // the report is the output; logs only for trouble
	p, err := build(ctx, cfg, o, strings.NewReader(""), io.Discard, stderr, nil)
	if err != nil {
		fmt.Fprintf(stdout, "ok    config  %s\nFAIL  setup   %s\n", o.configPath, redactor(cfg)(err.Error()))
		return 1
	}
	defer p.close()
	fmt.Fprintf(stdout, "ok    config  %s\n", o.configPath)
	failed := 0
	for _, r := range checkAll(ctx, p) {
		if r.err != nil {
			failed++
			fmt.Fprintf(stdout, "FAIL  %-10s %s\n", r.name, p.redact(r.err.Error()))
			continue
		}
		fmt.Fprintf(stdout, "ok    %-10s %s\n", r.name, r.detail)
	}
	if failed > 0 {
		fmt.Fprintf(stdout, "%d check(s) failed.\n", failed)
		return 1
	}
	fmt.Fprintln(stdout, "All checks passed.")
	return 0
}
