package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
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
	if cfg.GitLab != nil {
		svc, err := gitlab.New(gitlab.Config{
			URL: cfg.GitLab.URL, Token: cfg.GitLab.Token, Project: cfg.GitLab.Project,
			PollInterval: cfg.GitLab.PollInterval.Duration, ReplyTimeout: cfg.GitLab.ReplyTimeout.Duration,
			MinRole: cfg.GitLab.MinRole, PlayManual: *cfg.GitLab.PlayManual, Identities: cfg.Identities,
			Logger: log.With("component", "gitlab"),
		})
		if err != nil {
			return nil, err
		}
		if err := router.Add(runplugin.New(svc)); err != nil {
			return nil, err
		}
	}
	adapters, err := buildAdapters(cfg, stdin, stdout, log)
	if err != nil {
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
		Logger:        log,
	}, adapters...)
	if cfg.Bot.HealthAddr != "" {
		stop, err := serveHealth(cfg.Bot.HealthAddr, a.bot, log)
		if err != nil {
			return nil, err
		}
		a.closers = append(a.closers, stop)
	}
	return a, nil
}

// serveHealth serves the bot's health endpoint until the returned stop.
func serveHealth(addr string, b *bot.Bot, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("health endpoint: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", b.HealthHandler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			log.Error("health endpoint stopped", "err", err)
		}
	}()
	log.Info("health endpoint listening", "addr", ln.Addr().String())
	return func() { _ = srv.Close() }, nil
}

// buildAdapters makes one adapter per configured section.
func buildAdapters(cfg *config.Config, stdin io.Reader, stdout io.Writer, log *slog.Logger) ([]bot.Adapter, error) {
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
		a, err := mattermost.New(mattermost.Config{URL: cfg.Mattermost.URL, Token: cfg.Mattermost.Token, Logger: log.With("adapter", "mattermost")})
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
		PollInterval: 250 * time.Millisecond, ReplyTimeout: 5 * time.Minute, ExtractWait: 5 * time.Second,
		Identities: map[string]string{"shell:" + sh.User(): demo.User}, Logger: log,
	})
	if err != nil {
		demo.Close()
		return nil, err
	}
	router := commands.NewRouter("chatops")
	router.Use(commands.Audit(log))
	for _, p := range []commands.Plugin{ping.New(version()), runplugin.New(svc)} {
		if err := router.Add(p); err != nil {
			demo.Close()
			return nil, err
		}
	}
	fmt.Fprint(stdout, demoBanner(demo))
	a := &app{log: log, closers: []func(){demo.Close}}
	a.bot = bot.New(router, bot.Options{Logger: log, DrainTimeout: 6 * time.Minute}, sh)
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
