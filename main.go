// Command chatops is a chat bot that runs GitLab CI jobs from Slack,
// Mattermost, Discord and the terminal. With no configuration it starts a
// demo: the terminal adapter against a simulated GitLab.
//
//	chatops -config chatops.toml     run the bot
//	chatops check -config FILE       check the configuration, GitLab and each platform's credentials
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// options are the command line's choices.
type options struct {
	configPath string
	// fromEnv says configPath came from $CHATOPS_CONFIG, so an error
	// reading it can say where the path came from.
	fromEnv bool
	// verbose shows info logs in the terminal's interactive mode, which
	// otherwise shows only warnings and errors.
	verbose bool
}

// run is main with its inputs and outputs made explicit, so the binary's
// behaviour is a function tests can reason about.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	check := len(args) > 0 && args[0] == "check"
	name := "chatops"
	if check {
		args, name = args[1:], "chatops check"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.configPath, "config", "", "configuration `file` (TOML); also $CHATOPS_CONFIG. Without one, chatops starts a demo against a simulated GitLab.")
	fs.BoolVar(&o.verbose, "v", false, "verbose: in the interactive terminal, show info logs too (default: warnings and errors only)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q: give the configuration file with -config, as in\n  %s -config %s\n", name, fs.Arg(0), name, fs.Arg(0))
		return 2
	}
	if *showVersion {
		fmt.Fprintln(stdout, "chatops", version())
		return 0
	}
	if o.configPath == "" {
		if p := os.Getenv("CHATOPS_CONFIG"); p != "" {
			o.configPath, o.fromEnv = p, true
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if check {
		return runCheck(ctx, o, stdout, stderr)
	}
	app, err := setup(ctx, o, stdin, stdout, stderr)
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
