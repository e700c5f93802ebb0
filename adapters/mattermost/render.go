package mattermost

import (
	"github.com/chatops-dev/chatops/adapters/internal/markdown"
	"github.com/chatops-dev/chatops/bot"
)

// Render formats a reply as Mattermost markdown that always fits one post
// (MaxPostRunes). One reply is one post, so progress edits can replace it
// whole. A reply's Markdown keeps its tables and rules (Mattermost renders
// both). Mattermost notifies whoever a post's text names, so every mention
// is defused but self's, the bot's own username ("@chatops run …" in help
// stays as users copy it): replies echo names that users, jobs and GitLab
// chose (an issue's assignee, a pipeline's author), and the bot never
// means to page anyone.
func Render(r bot.Reply, self string) string {
	o := options
	o.Self = self
	return markdown.RenderWith(r, o)
}

var options = markdown.Options{Limit: MaxPostRunes, Tables: true, Rules: true, DefuseMentions: true}
