package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/chatops-dev/chatops/adapters/mattermost"
	"github.com/chatops-dev/chatops/adapters/shell"
	"github.com/chatops-dev/chatops/adapters/slack"
	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/config"
	"github.com/chatops-dev/chatops/commands"
	"github.com/chatops-dev/chatops/plugins/ping"
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
	if len(out) == 0 {
		return nil, fmt.Errorf("no adapter could be started")
	}
	return out, nil
}

// setupDemo is `go run .` with no configuration: the terminal adapter.
func setupDemo(_ context.Context, stdin io.Reader, stdout, stderr io.Writer) (*app, error) {
	log := newLogger(stderr, "warn", "text")
	sh := shell.New(shell.Config{In: stdin, Out: stdout})
	router := commands.NewRouter("chatops")
	router.Use(commands.Audit(log))
	if err := router.Add(ping.New(version())); err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "chatops demo: no configuration given, so this is the terminal adapter.\nType help, or ping. Ctrl-D quits. Run with -config FILE to connect to real services.\n")
	return &app{log: log, bot: bot.New(router, bot.Options{Logger: log, DrainTimeout: 5 * time.Minute}, sh)}, nil
}

func version() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "(devel)"
}
