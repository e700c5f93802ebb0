package mattermost

import (
	"github.com/chatops-dev/chatops/adapters/internal/markdown"
	"github.com/chatops-dev/chatops/bot"
)

// Render formats a reply as Mattermost markdown that always fits one post
// (MaxPostRunes). One reply is one post, so progress edits can replace it
// whole. A reply's Markdown keeps its tables and rules (Mattermost renders
// both) and every @ in its text is defused: Mattermost notifies whoever a
// post's text names, and a job must not page the channel.
func Render(r bot.Reply) string { return markdown.RenderWith(r, options) }

var options = markdown.Options{Limit: MaxPostRunes, Tables: true, Rules: true, DefuseMentions: true}
