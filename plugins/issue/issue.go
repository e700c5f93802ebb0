// Package issue is the `issue` command: GitLab's issue slash commands
// (show, new, search, move, close, comment) for every chat platform. The
// plugin owns the conversation: it reads the command, picks the project
// (the conversation's, or the one named first: "<project> issue ..."),
// and answers with the issue rendered by the shared GitLab client, which
// acts for the chat user's GitLab identity and applies GitLab's
// permission rules.
package issue

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/commands"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/plugins/projects"
)

// GitLab is what the plugin needs of a project's GitLab client;
// *gitlab.Service is one. identity is the chat user's "platform:userID".
type GitLab interface {
	Issue(ctx context.Context, identity string, iid int64) (gitlab.Issue, error)
	SearchIssues(ctx context.Context, identity, query string) (gitlab.IssueList, error)
	CreateIssue(ctx context.Context, identity, title, description string) (gitlab.Issue, error)
	CloseIssue(ctx context.Context, identity string, iid int64) (gitlab.Issue, bool, error)
	CommentIssue(ctx context.Context, identity string, iid int64, body string) (gitlab.Issue, error)
	MoveIssue(ctx context.Context, identity string, iid int64, target string) (gitlab.Issue, error)
}

// Project is a project whose issues chat can reach.
type Project = projects.Project[GitLab]

// Plugin provides the issue command.
type Plugin struct {
	projects *projects.Set[GitLab]
}

// New returns the plugin, or an error when the projects are ambiguous.
func New(list []Project) (*Plugin, error) {
	s, err := projects.New(list)
	if err != nil {
		return nil, err
	}
	return &Plugin{projects: s}, nil
}

// usage is the synopsis of every sub-command.
const usage = "show <id> | new <title> | search <query> | close <id> | comment <id> <comment> | move <id> to <project>"

// Commands implements commands.Plugin.
func (p *Plugin) Commands() []commands.Command {
	return []commands.Command{{
		Name:    "issue",
		Usage:   usage,
		Summary: "Show, open, search, close, comment on and move GitLab issues",
		Help: "The commands of GitLab's issue slash commands, acting as your GitLab user with its rights:\n" +
			"issue show <id> shows an issue (any project member, or anyone on a public project; confidential issues to Reporters and up, their author and assignees).\n" +
			"issue new <title>, then on the next lines the description, opens an issue (whoever can see the project).\n" +
			"issue search <query> lists the newest " + strconv.Itoa(gitlab.SearchLimit) + " issues whose title or description match, with a link to all of them.\n" +
			"issue close <id> closes an issue (Reporter or more).\n" +
			"issue comment <id>, then the comment (on the same line or the next ones), comments on an issue.\n" +
			"issue move <id> to <project> moves an issue to another project (Reporter or more in both).\n" +
			"The project is the one bound to this conversation, else the default; name another first: <project> issue show <id>. " +
			"What chatops writes in GitLab ends with who asked, as the bot's GitLab user writes it.",
		Examples: []string{"issue show 13", "issue new Deploy button does nothing\nClicking it shows a spinner forever.",
			"issue search deploy button", "issue close #13", "issue comment 13\nFixed in v1.4.2.", "issue move 13 to group/infra", "api issue show 7"},
		Handler: projects.Handler(p.ServeIn).Command(),
	}}
}

// ServeIn serves `issue ...` in the project named in (a path; "" for the
// conversation's project): the run plugin calls it for "<project> issue
// ..." (see run.Plugin.Scope).
func (p *Plugin) ServeIn(ctx context.Context, w bot.Responder, r *commands.Request, in string) error {
	sub, rest := cut(r.RawArgs)
	sub = strings.ToLower(sub)
	switch sub {
	case "show", "new", "search", "close", "comment", "move":
	case "":
		return &bot.Refusal{Title: "What should I do with issues?", Text: "Usage: issue " + usage + "\nType help issue for details."}
	default:
		return &bot.Refusal{Title: "Unknown issue command " + sub, Text: "Usage: issue " + usage}
	}
	proj, err := p.projects.Resolve(r.Message, in, "issue "+sub+" ...")
	if err != nil {
		return err
	}
	who := r.Message.Identity()
	gl := proj.GitLab
	var reply bot.Reply
	switch sub {
	case "show":
		iid, err := issueID(rest, "show")
		if err != nil {
			return err
		}
		is, err := gl.Issue(ctx, who, iid)
		if err != nil {
			return err
		}
		reply = gitlab.IssueCard(is, "")
	case "search":
		query := strings.TrimSpace(rest)
		if query == "" {
			return &bot.Refusal{Title: "Search for what?", Text: "Usage: issue search <query>, for example: issue search deploy button"}
		}
		list, err := gl.SearchIssues(ctx, who, query)
		if err != nil {
			return err
		}
		reply = gitlab.IssueResults(list)
	case "new":
		title, description := splitTitle(rest)
		if title == "" {
			return &bot.Refusal{Title: "The issue needs a title", Text: "Usage: issue new <title>, then the description on the next lines."}
		}
		is, err := gl.CreateIssue(ctx, who, title, description)
		if err != nil {
			return err
		}
		reply = gitlab.IssueCard(is, "Issue opened")
	case "close":
		iid, err := issueID(rest, "close")
		if err != nil {
			return err
		}
		is, closed, err := gl.CloseIssue(ctx, who, iid)
		if err != nil {
			return err
		}
		reply = gitlab.IssueCard(is, "Issue closed")
		if !closed {
			reply = gitlab.IssueCard(is, "")
			reply.Title = "Already closed: " + reply.Title
		}
	case "comment":
		id, body := cut(rest)
		iid, err := issueID(id, "comment")
		if err != nil {
			return err
		}
		if body = strings.TrimSpace(body); body == "" {
			return &bot.Refusal{Title: "The comment is empty", Text: "Usage: issue comment <id>, then the comment on the same line or the next ones."}
		}
		is, err := gl.CommentIssue(ctx, who, iid, body)
		if err != nil {
			return err
		}
		reply = gitlab.IssueCard(is, "Comment added")
		reply.Text = gitlab.TrimDescription(body)
	case "move":
		iid, target, err := moveArgs(rest)
		if err != nil {
			return err
		}
		if to := p.projects.Named(target); to != nil {
			target = to.Path // a configured alias names its GitLab path
		}
		is, err := gl.MoveIssue(ctx, who, iid, target)
		if err != nil {
			return err
		}
		reply = gitlab.IssueCard(is, fmt.Sprintf("Issue #%d moved to %s", iid, is.Project))
	}
	_, err = w.Reply(ctx, reply)
	return err
}

// cut splits off the first word; rest starts after the whitespace that
// follows it, byte for byte (it may span lines).
func cut(raw string) (word, rest string) {
	raw = strings.TrimLeftFunc(raw, unicode.IsSpace)
	i := strings.IndexFunc(raw, unicode.IsSpace)
	if i < 0 {
		return raw, ""
	}
	return raw[:i], strings.TrimLeftFunc(raw[i:], unicode.IsSpace)
}

// issueID reads an issue number as GitLab's slash commands do: digits,
// optionally after '#'.
func issueID(s, sub string) (int64, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "#")
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, &bot.Refusal{Title: "Which issue?", Text: fmt.Sprintf("Give the issue's number, as in issue %s 13 (or #13).", sub)}
	}
	return n, nil
}

// splitTitle reads `issue new`: the title is the first line, the
// description the lines after it.
func splitTitle(rest string) (title, description string) {
	title, description, _ = strings.Cut(rest, "\n")
	return strings.TrimSpace(title), strings.TrimSpace(description)
}

// moveArgs reads `move <id> [to] <project>`, "to" optional as in GitLab.
func moveArgs(rest string) (int64, string, error) {
	f := strings.Fields(rest)
	if len(f) == 3 && strings.EqualFold(f[1], "to") {
		f = []string{f[0], f[2]}
	}
	if len(f) != 2 {
		return 0, "", &bot.Refusal{Title: "Move which issue where?", Text: "Usage: issue move <id> to <project>, for example: issue move 13 to group/infra"}
	}
	iid, err := issueID(f[0], "move")
	return iid, f[1], err
}
