package run

import (
	"context"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/gitlab"
)

// actorContext returns ctx carrying who identity acts as in GitLab
// (gitlab.WithActor), resolved by Options.Actor, for work the watcher
// does without a chat message (resuming a run after a restart). Without
// a resolver, or when it fails, ctx is returned as is: GitLab then
// applies act_as to the unlinked user, and under act_as = "user" refuses.
func (p *Plugin) actorContext(ctx context.Context, identity string) context.Context {
	if p.opts.Actor == nil {
		return ctx
	}
	a, err := p.opts.Actor(ctx, identity)
	if err != nil {
		bot.Logger(ctx).Warn("could not resolve the requester's GitLab link for a resumed run", "identity", identity, "err", err)
		return ctx
	}
	return gitlab.WithActor(ctx, a)
}
