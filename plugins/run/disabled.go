package run

import (
	"context"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/commands"
)

// Disabled is the run command of a bot without a [gitlab] section: it
// answers that GitLab is not configured and how to configure it, rather
// than leaving users with "unknown command".
type Disabled struct{}

// Commands implements commands.Plugin: run, and GitLab's other commands
// (issue, deploy), each answering how to configure GitLab.
func (Disabled) Commands() []commands.Command {
	refuse := commands.HandlerFunc(func(context.Context, bot.Responder, *commands.Request) error {
		return &bot.Refusal{Title: "GitLab is not configured",
			Text: "This bot has no [gitlab] section in its configuration, so it cannot run jobs. An operator can add one:\n" +
				"[gitlab]\nurl = \"https://gitlab.example.com\"\ntoken = \"${GITLAB_TOKEN}\"\nproject = \"group/project\"\n" +
				"then check it with: chatops check -config chatops.toml"}
	})
	return []commands.Command{
		{Name: "run", Usage: "<job> [arguments...]", Summary: "Run a GitLab CI job (not available: GitLab is not configured)", Handler: refuse},
		{Name: "issue", Usage: "show <id> | new <title> | search <query> | ...", Summary: "GitLab issues (not available: GitLab is not configured)", Handler: refuse},
		{Name: "deploy", Usage: "<environment> to <target-environment>", Summary: "Promote a deployment (not available: GitLab is not configured)", Handler: refuse},
	}
}
