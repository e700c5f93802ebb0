// Command chatops is a chat bot that runs GitLab CI jobs from Slack,
// Mattermost, Discord and the terminal. With no configuration it starts a
// demo: the terminal adapter against a simulated GitLab.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is main with its inputs and outputs made explicit, so the binary's
// behaviour is a function tests can reason about.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chatops", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", os.Getenv("CHATOPS_CONFIG"), "configuration `file` (TOML); also $CHATOPS_CONFIG. Without one, chatops starts a demo against a simulated GitLab.")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *showVersion {
		fmt.Fprintln(stdout, "chatops", version())
		return 0
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	app, err := setup(ctx, *configPath, stdin, stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "chatops:", err)
		return 1
	}
	defer app.close()
	if err := app.bot.Run(ctx); err != nil {
		app.log.Error("chatops stopped", "err", err)
		return 1
	}
	return 0
}

// newLogger builds the process logger: text or JSON on stderr.
func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
