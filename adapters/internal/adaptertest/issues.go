package adaptertest

import (
	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/gitlab"
)

// IssueReplies are an issue card and a search result as the issue plugin
// renders them, for each platform's golden files.
func IssueReplies() map[string]bot.Reply {
	is := gitlab.Issue{IID: 13, Title: "Deploy button does nothing on Safari", State: "opened", Labels: []string{"bug", "frontend"},
		Assignees: []string{"alice"}, Author: "rita", Comments: 2, Project: "ops/app",
		WebURL:      "https://gitlab.example.com/ops/app/-/issues/13",
		Description: "Clicking **Deploy** shows a spinner forever on Safari 17.\n\nSteps:\n1. Open the pipeline page\n2. Click <Deploy> & wait"}
	other := gitlab.Issue{IID: 7, Title: "Document the deploy command", State: "closed", Project: "ops/app",
		WebURL: "https://gitlab.example.com/ops/app/-/issues/7"}
	return map[string]bot.Reply{
		"issue_card": gitlab.IssueCard(is, ""),
		"issue_search": gitlab.IssueResults(gitlab.IssueList{Query: "deploy", Project: "ops/app", Issues: []gitlab.Issue{is, other}, Total: 9,
			SearchURL: "https://gitlab.example.com/ops/app/-/issues?scope=all&state=all&search=deploy"}),
	}
}
