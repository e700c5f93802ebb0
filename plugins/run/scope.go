package run

// Project-scoped commands: "<project> run", "<project> runs" and the
// commands other GitLab plugins add with Scope.

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/commands"
	"github.com/chatops-dev/chatops/plugins/projects"
)

// Scope makes "<project> <command> ..." serve h in that project, beside
// "<project> run" and "<project> runs": the run plugin owns the hidden
// per-project commands (a name can have one owner in the router), and
// other GitLab plugins (issue, deploy) add their commands to them. Call it
// before the bot starts.
func (p *Plugin) Scope(command string, h projects.Handler) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.scopes[strings.ToLower(command)] = h
}

// scoped serves "<project> run ...", "<project> runs" and the commands
// other plugins added with Scope.
func (p *Plugin) scoped(proj *Project) commands.Handler {
	return commands.HandlerFunc(func(ctx context.Context, w bot.Responder, r *commands.Request) error {
		sub, rest := SplitJob(r.RawArgs)
		sub = strings.ToLower(sub)
		switch sub {
		case "run":
			return p.runIn(ctx, w, r.Message, proj, rest)
		case "runs":
			return p.listRuns(ctx, w, r.Message, proj, rest)
		}
		p.mu.Lock()
		h, names := p.scopes[sub], p.scopeNames()
		p.mu.Unlock()
		if h != nil {
			return h(ctx, w, &commands.Request{Message: r.Message, Command: sub, Invoked: sub, RawArgs: rest}, proj.Path)
		}
		usage := fmt.Sprintf("Usage: %[1]s run <job> [arguments...], or %[1]s runs", proj.Name())
		for _, n := range names {
			usage += fmt.Sprintf(", or %s %s ...", proj.Name(), n)
		}
		return &bot.Refusal{Title: "What should I do in " + proj.Name() + "?", Text: usage + "."}
	})
}

// scopeNames lists the commands added with Scope, sorted (p.mu held).
func (p *Plugin) scopeNames() []string {
	names := make([]string, 0, len(p.scopes))
	for n := range p.scopes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
