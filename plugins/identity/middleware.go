package identity

import (
	"context"
	"errors"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/commands"
	"github.com/chatops-dev/chatops/gitlab"
)

// Middleware puts the caller's GitLab credential into every command's
// context (gitlab.WithActor), so run, deploy, play and cancel act as the
// linked user whatever plugin serves them. The plugin's own commands go
// through untouched: they read the store themselves.
func (p *Plugin) Middleware() commands.Middleware {
	return func(next commands.Handler) commands.Handler {
		return commands.HandlerFunc(func(ctx context.Context, w bot.Responder, r *commands.Request) error {
			switch r.Command {
			case "link", "unlink", "whoami", "help":
				return next.ServeCommand(ctx, w, r)
			}
			a, err := p.Actor(ctx, r.Message.Identity())
			if errors.Is(err, errLinkBroken) {
				return &bot.Refusal{Title: "Your GitLab link stopped working",
					Text: "GitLab no longer accepts it (revoked or expired), so the bot forgot it. Send `link` in a direct message to link again."}
			}
			if err != nil {
				return &bot.Refusal{Title: "Could not use your GitLab link", Text: "Try again in a moment.", Err: err}
			}
			return next.ServeCommand(gitlab.WithActor(ctx, a), w, r)
		})
	}
}
