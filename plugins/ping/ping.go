// Package ping is the smallest useful plugin: "ping" answers "pong" and
// "version" says which build is running. Bot operators copy it as the
// starting point for their own plugins.
package ping

import (
	"context"
	"runtime/debug"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/commands"
)

// Plugin holds the plugin's dependencies; here only the clock and the
// version string, passed in explicitly rather than read from globals.
type Plugin struct {
	version string
	now     func() time.Time
}

// New returns the plugin. version is shown by the version command; empty
// means the module version recorded in the binary.
func New(version string) *Plugin {
	if version == "" {
		version = buildVersion()
	}
	return &Plugin{version: version, now: time.Now}
}

// Commands implements commands.Plugin.
func (p *Plugin) Commands() []commands.Command {
	return []commands.Command{
		{
			Name:     "ping",
			Summary:  "Check that the bot is alive",
			Help:     "Answers pong, with how long the message took to reach the bot's handler.",
			Examples: []string{"ping"},
			Handler:  commands.HandlerFunc(p.ping),
		},
		{
			Name:    "version",
			Summary: "Show which chatops build is running",
			Handler: commands.HandlerFunc(p.showVersion),
		},
	}
}

func (p *Plugin) ping(ctx context.Context, w bot.Responder, r *commands.Request) error {
	reply := bot.Reply{Status: bot.StatusSuccess, Title: "pong"}
	if !r.Message.Received.IsZero() {
		reply.Fields = []bot.Field{{Name: "In the bot for", Value: p.now().Sub(r.Message.Received).Round(time.Microsecond).String()}}
	}
	_, err := w.Reply(ctx, reply)
	return err
}

func (p *Plugin) showVersion(ctx context.Context, w bot.Responder, _ *commands.Request) error {
	_, err := w.Reply(ctx, bot.Reply{Status: bot.StatusInfo, Title: "chatops " + p.version})
	return err
}

func buildVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown build)"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " (" + s.Value[:12] + ")"
		}
	}
	return v
}
