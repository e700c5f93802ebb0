package mattermost

import (
	"github.com/chatops-dev/chatops/adapters/internal/markdown"
	"github.com/chatops-dev/chatops/bot"
)

// Render formats a reply as Mattermost markdown that always fits one post
// (MaxPostRunes). One reply is one post, so progress edits can replace it
// whole.
func Render(r bot.Reply) string { return markdown.Render(r, MaxPostRunes) }
