package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/chatops-dev/chatops/adapters/shell"
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
	return a, nil
}

// buildAdapters makes one adapter per configured section.
func buildAdapters(cfg *config.Config, stdin io.Reader, stdout io.Writer, log *slog.Logger) ([]bot.Adapter, error) {
	var out []bot.Adapter
	if cfg.Shell != nil {
		out = append(out, shell.New(shell.Config{User: cfg.Shell.User, In: stdin, Out: stdout}))
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
