package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/chatops-dev/chatops/adapters/discord"
	"github.com/chatops-dev/chatops/adapters/mattermost"
	"github.com/chatops-dev/chatops/adapters/shell"
	"github.com/chatops-dev/chatops/adapters/slack"
	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/config"
	"github.com/chatops-dev/chatops/commands"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
	"github.com/chatops-dev/chatops/plugins/ping"
	runplugin "github.com/chatops-dev/chatops/plugins/run"
	"github.com/chatops-dev/chatops/store"
	"github.com/chatops-dev/chatops/store/sqlite"
	"github.com/chatops-dev/chatops/store/storeopen"
)

// app is the wired process: the bot and what must be closed after it.
type app struct {
	bot     *bot.Bot
	log     *slog.Logger
	closers []func()
}

func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

// setup builds the bot from the config file, or the demo without one.
func setup(ctx context.Context, configPath string, stdin io.Reader, stdout, stderr io.Writer) (*app, error) {
	if configPath == "" {
		return setupDemo(ctx, stdin, stdout, stderr)
	}
	cfg, err := config.Load(configPath)
	if err != nil {
		return nil, err
	}
	log := newLogger(stderr, cfg.Log.Level, cfg.Log.Format)
	a := &app{log: log}
	router := commands.NewRouter(cfg.Bot.Name)
	router.Use(commands.Audit(log))
	if err := router.Add(ping.New(version())); err != nil {
		return nil, err
	}
	st, err := openStore(ctx, cfg.Store)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, func() { _ = st.Close() })
	var runs *runplugin.Plugin
	if cfg.GitLab != nil {
		projects, err := gitlabProjects(cfg, log)
		if err != nil {
			a.close()
			return nil, err
		}
		runs, err = runplugin.New(runplugin.Options{Projects: projects, Store: st,
			PollInterval: cfg.GitLab.PollInterval.Duration, ReplyTimeout: cfg.GitLab.ReplyTimeout.Duration,
			Webhooks: cfg.GitLab.WebhookSecret != "", HookPollInterval: cfg.GitLab.WebhookPollInterval.Duration,
			CreatingGrace: creatingGrace(cfg.Store), Logger: log.With("component", "run")})
		if err != nil {
			a.close()
			return nil, err
		}
		if err := router.Add(runs); err != nil {
			a.close()
			return nil, err
		}
		if cfg.GitLab.WebhookSecret != "" {
			log.Info("GitLab webhooks on: polling only backs them up", "path", webhookPath, "backup_poll", cfg.GitLab.WebhookPollInterval.Duration)
		} else {
			log.Info("GitLab webhooks off: runs are followed by polling", "poll_interval", cfg.GitLab.PollInterval.Duration)
		}
	}
	adapters, err := buildAdapters(cfg, st, stdin, stdout, log)
	if err != nil {
		a.close()
		return nil, err
	}
	drain := time.Hour
	if cfg.GitLab != nil {
		drain = cfg.GitLab.ReplyTimeout.Duration + time.Minute
	}
	a.bot = bot.New(router, bot.Options{
		Workers:       cfg.Bot.Workers,
		ShutdownGrace: cfg.Bot.ShutdownGrace.Duration,
		DrainTimeout:  drain,
		Claims:        st,
		Logger:        log,
	}, adapters...)
	if cfg.HTTP.Addr != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /healthz", a.bot.HealthHandler())
		if runs != nil && cfg.GitLab.WebhookSecret != "" {
			mux.Handle("POST "+webhookPath, gitlab.HookHandler(cfg.GitLab.WebhookSecret, runs.Hook))
		}
		stop, err := serveHTTP(cfg.HTTP.Addr, mux, log)
		if err != nil {
			a.close()
			return nil, err
		}
		a.closers = append(a.closers, stop)
	}
	return a, nil
}

// gitlabProjects builds one GitLab client per project: [gitlab] project
// (the default) and each [projects.<alias>], with the project's own token
// when it has one, so a project token is never sent to another project.
func gitlabProjects(cfg *config.Config, log *slog.Logger) ([]runplugin.Project, error) {
	g := cfg.GitLab
	build := func(path, token string, refs []string) (*gitlab.Service, error) {
		if token == "" {
			token = g.Token
		}
		svc, err := gitlab.New(gitlab.Config{URL: g.URL, Token: token, Project: path, Refs: refs,
			MinRole: g.MinRole, PlayManual: *g.PlayManual, Identities: cfg.Identities,
			Logger: log.With("component", "gitlab", "project", path)})
		if err != nil {
			return nil, fmt.Errorf("project %s: %w", path, err)
		}
		return svc, nil
	}
	var out []runplugin.Project
	if g.Project != "" {
		svc, err := build(g.Project, "", g.Refs)
		if err != nil {
			return nil, err
		}
		out = append(out, runplugin.Project{Path: g.Project, GitLab: svc, Default: true})
	}
	aliases := make([]string, 0, len(cfg.Projects))
	for alias := range cfg.Projects {
		aliases = append(aliases, alias)
	}
	sort.Strings(aliases)
	for _, alias := range aliases {
		pc := cfg.Projects[alias]
		svc, err := build(pc.Path, pc.Token, pc.Refs)
		if err != nil {
			return nil, err
		}
		p := runplugin.Project{Alias: alias, Path: pc.Path, GitLab: svc, Channels: pc.Channels}
		if pc.Path == g.Project && len(out) > 0 && out[0].Alias == "" {
			// The default project described again: its alias, token,
			// channels and refs are these.
			p.Default = true
			out[0] = p
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

// webhookPath is where GitLab's Job and Pipeline Hooks are received.
const webhookPath = "/hooks/gitlab"

// creatingGrace is how long a run found "creating" is left to the process
// that may be creating it: none with SQLite (the file is this process's
// alone, so such a run's process is dead), two minutes with a PostgreSQL
// store that replicas share.
func creatingGrace(c config.Store) time.Duration {
	if c.URL != "" {
		return 2 * time.Minute
	}
	return 0
}

// openStore opens the configured store: PostgreSQL by URL, else the
// SQLite file.
func openStore(ctx context.Context, c config.Store) (store.Store, error) {
	st, err := storeopen.Open(ctx, c.URL, c.Path)
	if err != nil {
		return nil, fmt.Errorf("[store]: %w", err)
	}
	return st, nil
}

// serveHTTP serves the bot's one HTTP listener until the returned stop.
func serveHTTP(addr string, h http.Handler, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("[http] addr: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			log.Error("HTTP listener stopped", "err", err)
		}
	}()
	log.Info("HTTP listener up", "addr", ln.Addr().String())
	return func() { _ = srv.Close() }, nil
}

// buildAdapters makes one adapter per configured section.
func buildAdapters(cfg *config.Config, st store.Store, stdin io.Reader, stdout io.Writer, log *slog.Logger) ([]bot.Adapter, error) {
	var out []bot.Adapter
	if cfg.Shell != nil {
		out = append(out, shell.New(shell.Config{User: cfg.Shell.User, In: stdin, Out: stdout}))
	}
	if cfg.Slack != nil {
		a, err := slack.New(slack.Config{AppToken: cfg.Slack.AppToken, BotToken: cfg.Slack.BotToken, APIURL: cfg.Slack.APIURL, Logger: log.With("adapter", "slack")})
		if err != nil {
			return nil, fmt.Errorf("[slack]: %w", err)
		}
		out = append(out, a)
	}
	if cfg.Mattermost != nil {
		a, err := mattermost.New(mattermost.Config{URL: cfg.Mattermost.URL, Token: cfg.Mattermost.Token, Logger: log.With("adapter", "mattermost"),
			Cursors: st, CatchUp: cfg.Bot.CatchUp.Duration})
		if err != nil {
			return nil, fmt.Errorf("[mattermost]: %w", err)
		}
		out = append(out, a)
	}
	if cfg.Discord != nil {
		a, err := discord.New(discord.Config{Token: cfg.Discord.Token, APIURL: cfg.Discord.APIURL, Logger: log.With("adapter", "discord")})
		if err != nil {
			return nil, fmt.Errorf("[discord]: %w", err)
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no adapter could be started")
	}
	return out, nil
}

// setupDemo is `go run .` with no configuration: the terminal adapter
// against the simulated GitLab, whose demo jobs really run.
func setupDemo(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) (*app, error) {
	log := newLogger(stderr, "warn", "text")
	demo, err := gitlabtest.NewDemo(ctx)
	if err != nil {
		return nil, fmt.Errorf("start the simulated GitLab: %w", err)
	}
	sh := shell.New(shell.Config{In: stdin, Out: stdout})
	svc, err := gitlab.New(gitlab.Config{
		URL: demo.URL, Token: demo.Token, Project: demo.Project, PlayManual: true,
		ExtractWait: 5 * time.Second, ExtractInterval: 250 * time.Millisecond,
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
	router.Use(commands.Audit(log))
	runs, err := runplugin.New(runplugin.Options{GitLab: svc, Store: st, Project: demo.Project,
		PollInterval: 250 * time.Millisecond, ReplyTimeout: 5 * time.Minute, Logger: log})
	if err != nil {
		a.close()
		return nil, err
	}
	for _, p := range []commands.Plugin{ping.New(version()), runs} {
		if err := router.Add(p); err != nil {
			a.close()
			return nil, err
		}
	}
	fmt.Fprint(stdout, demoBanner(demo))
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
	b.WriteString("Try: run hello-world, run ls, run greet Ada, help. Ctrl-D quits.\n")
	b.WriteString("With -config FILE (see config.example.toml) chatops connects to real services.\n\n")
	return b.String()
}

func version() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "(devel)"
}
