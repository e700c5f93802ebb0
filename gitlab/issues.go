package gitlab

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/chatops-dev/chatops/bot"
)

// Issue is what chat shows of a GitLab issue.
type Issue struct {
	// IID is the issue's number in its project (#13).
	IID   int64
	Title string
	// State is GitLab's: "opened" or "closed".
	State       string
	Description string
	Labels      []string
	// Assignees and Author are usernames.
	Assignees    []string
	Author       string
	Confidential bool
	// Comments counts the users' comments.
	Comments  int64
	WebURL    string
	UpdatedAt time.Time
	// Project is the path of the project the issue is in.
	Project string
}

// IssueList is the first issues a search found.
type IssueList struct {
	Query   string
	Project string
	Issues  []Issue
	// Total is how many issues matched (GitLab's X-Total), at least
	// len(Issues).
	Total int
	// SearchURL opens the full search in GitLab.
	SearchURL string
}

// SearchLimit is how many issues a search shows, as GitLab's slash
// command does.
const SearchLimit = 5

// Attribution is added to what the bot's own user writes in GitLab for
// someone (a new issue's description, a comment), so the text says who
// asked. Writes made as the user (a linked account, or Sudo) need none.
func Attribution(user string) string {
	return "\n\n---\n_Sent from chat by @" + user + " via chatops._"
}

// writeAs returns the request options that make an issue write as the
// caller (the linked user's token, or Sudo under act_as = "sudo"), and the
// attribution the text needs when the bot's own user writes instead.
// Under act_as = "user" an unlinked caller is refused.
func (s *Service) writeAs(ctx context.Context, identity string, c caller) ([]gl.RequestOptionFunc, string, error) {
	a := actorFrom(ctx)
	if a.Identity == "" {
		a.Identity = identity
	}
	if s.cfg.ActAs == ActAsUser && !a.Linked() {
		return nil, "", s.linkFirst()
	}
	if opts := s.as(a); len(opts) > 0 {
		return opts, "", nil
	}
	return nil, Attribution(c.username), nil
}

// issueProject reads the project and the caller's access to it, and
// refuses callers who may not read it.
func (s *Service) issueProject(ctx context.Context, identity string) (*gl.Project, caller, error) {
	if _, ok := s.username(ctx, identity); !ok {
		return nil, caller{}, s.unlinked(identity)
	}
	p, _, err := s.client.Projects.GetProject(s.cfg.Project, nil, gl.WithContext(ctx))
	if err != nil {
		return nil, caller{}, s.apiRefusal("read the project "+s.cfg.Project, err)
	}
	c, err := s.who(ctx, identity, p.ID)
	if err != nil {
		return nil, caller{}, err
	}
	if !readable(p.Visibility, c.level) {
		return nil, caller{}, &bot.Refusal{Title: "You cannot see " + s.cfg.Project,
			Text: fmt.Sprintf("%s is private and GitLab user %s is not a member. Ask a Maintainer of the project for at least the Guest role.", s.cfg.Project, c.username)}
	}
	// Every issue command (show, search, new, comment, close, move) passes
	// here: issues GitLab hides from the caller are "not found", as GitLab
	// answers them, whatever the bot's own token may see.
	if !issuesReadable(p, c.level) {
		text := fmt.Sprintf("%s shows its issues to project members only, and GitLab user %s is not a member. Ask a Maintainer of the project for at least the Guest role.", s.cfg.Project, c.username)
		if p.IssuesAccessLevel == gl.DisabledAccessControl {
			text = s.cfg.Project + " has its Issues feature turned off (Settings > General > Visibility), so it has no issues to show or take."
		}
		return nil, caller{}, &bot.Refusal{Title: "Issues not found in " + s.cfg.Project, Text: text}
	}
	return p, c, nil
}

// issue reads issue iid as the caller may see it: a confidential issue is
// visible to Reporters and up, its author and assignees only; to anyone
// else it does not exist, as in GitLab.
func (s *Service) issue(ctx context.Context, p *gl.Project, c caller, iid int64) (*gl.Issue, error) {
	is, _, err := s.client.Issues.GetIssue(p.ID, iid, gl.WithContext(ctx))
	if statusOf(err) == http.StatusNotFound || (err == nil && !canSee(is, c)) {
		return nil, &bot.Refusal{Title: fmt.Sprintf("Issue #%d not found in %s", iid, s.cfg.Project),
			Text: "Check the number; issue search <words> finds issues by their title and description."}
	}
	if err != nil {
		return nil, s.apiRefusal(fmt.Sprintf("read issue #%d", iid), err)
	}
	return is, nil
}

func canSee(is *gl.Issue, c caller) bool {
	if !is.Confidential || c.level >= Reporter {
		return true
	}
	if is.Author != nil && is.Author.ID == c.id {
		return true
	}
	for _, a := range is.Assignees {
		if a != nil && a.ID == c.id {
			return true
		}
	}
	return false
}

// Issue returns issue iid, for a chat user who may read it.
func (s *Service) Issue(ctx context.Context, identity string, iid int64) (Issue, error) {
	ctx, cancel := s.bound(ctx, 4)
	defer cancel()
	p, c, err := s.issueProject(ctx, identity)
	if err != nil {
		return Issue{}, err
	}
	is, err := s.issue(ctx, p, c, iid)
	if err != nil {
		return Issue{}, err
	}
	return s.issueOf(is), nil
}

// SearchIssues returns the first SearchLimit issues, open or closed,
// whose title or description match query, newest first, as GitLab's
// slash command does. A caller who may not see confidential issues is
// shown none.
func (s *Service) SearchIssues(ctx context.Context, identity, query string) (IssueList, error) {
	ctx, cancel := s.bound(ctx, 4)
	defer cancel()
	p, c, err := s.issueProject(ctx, identity)
	if err != nil {
		return IssueList{}, err
	}
	opts := &gl.ListProjectIssuesOptions{Search: gl.Ptr(query), OrderBy: gl.Ptr("created_at"), Sort: gl.Ptr("desc"),
		ListOptions: gl.ListOptions{PerPage: SearchLimit}}
	if c.level < Reporter {
		opts.Confidential = gl.Ptr(false)
	}
	list, resp, err := s.client.Issues.ListProjectIssues(p.ID, opts, gl.WithContext(ctx))
	if err != nil {
		return IssueList{}, s.apiRefusal("search the issues", err)
	}
	out := IssueList{Query: query, Project: s.cfg.Project, Total: len(list),
		SearchURL: p.WebURL + "/-/issues?scope=all&state=all&search=" + url.QueryEscape(query)}
	if resp != nil && resp.TotalItems > int64(out.Total) {
		out.Total = int(resp.TotalItems)
	}
	for _, is := range list {
		out.Issues = append(out.Issues, s.issueOf(is))
	}
	return out, nil
}

// CreateIssue opens an issue. GitLab lets anyone who can read the project
// create issues (Guests on private projects); the description ends with
// who asked, since the bot's token writes it.
func (s *Service) CreateIssue(ctx context.Context, identity, title, description string) (Issue, error) {
	ctx, cancel := s.bound(ctx, 4)
	defer cancel()
	p, c, err := s.issueProject(ctx, identity)
	if err != nil {
		return Issue{}, err
	}
	as, attribution, err := s.writeAs(ctx, identity, c)
	if err != nil {
		return Issue{}, err
	}
	opts := &gl.CreateIssueOptions{Title: gl.Ptr(title), Description: gl.Ptr(description + attribution)}
	// Never retried: a lost answer must not open the issue twice.
	is, _, err := s.client.Issues.CreateIssue(p.ID, opts, append(as, gl.WithContext(ctx), noRetry)...)
	if err != nil {
		return Issue{}, s.apiRefusal("create the issue", err)
	}
	s.log.Info("issue created from chat", "issue", is.IID, "user", c.username)
	return s.issueOf(is), nil
}

// CloseIssue closes issue iid. GitLab's slash command asks for the
// project's update_issue right: Reporter or more. closed is false when the
// issue was closed already (nothing changed).
func (s *Service) CloseIssue(ctx context.Context, identity string, iid int64) (is Issue, closed bool, err error) {
	ctx, cancel := s.bound(ctx, 4)
	defer cancel()
	p, c, err := s.issueProject(ctx, identity)
	if err != nil {
		return Issue{}, false, err
	}
	if c.level < Reporter {
		return Issue{}, false, s.needRole(c, Reporter, "close issues")
	}
	cur, err := s.issue(ctx, p, c, iid)
	if err != nil {
		return Issue{}, false, err
	}
	if cur.State == "closed" {
		return s.issueOf(cur), false, nil
	}
	as, _, err := s.writeAs(ctx, identity, c)
	if err != nil {
		return Issue{}, false, err
	}
	upd, _, err := s.client.Issues.UpdateIssue(p.ID, iid, &gl.UpdateIssueOptions{StateEvent: gl.Ptr("close")}, append(as, gl.WithContext(ctx))...)
	if err != nil {
		return Issue{}, false, s.apiRefusal(fmt.Sprintf("close issue #%d", iid), err)
	}
	s.log.Info("issue closed from chat", "issue", iid, "user", c.username)
	return s.issueOf(upd), true, nil
}

// CommentIssue adds a comment to issue iid: allowed to whoever can see
// the issue, except on a locked discussion, where only Reporters and up
// may. The comment ends with who asked.
func (s *Service) CommentIssue(ctx context.Context, identity string, iid int64, body string) (Issue, error) {
	ctx, cancel := s.bound(ctx, 4)
	defer cancel()
	p, c, err := s.issueProject(ctx, identity)
	if err != nil {
		return Issue{}, err
	}
	cur, err := s.issue(ctx, p, c, iid)
	if err != nil {
		return Issue{}, err
	}
	if cur.DiscussionLocked && c.level < Reporter {
		return Issue{}, &bot.Refusal{Title: fmt.Sprintf("The discussion of issue #%d is locked", iid),
			Text: "Only project members with the Reporter role or more can comment on it."}
	}
	as, attribution, err := s.writeAs(ctx, identity, c)
	if err != nil {
		return Issue{}, err
	}
	opts := &gl.CreateIssueNoteOptions{Body: gl.Ptr(body + attribution)}
	if _, _, err := s.client.Notes.CreateIssueNote(p.ID, iid, opts, append(as, gl.WithContext(ctx), noRetry)...); err != nil {
		return Issue{}, s.apiRefusal(fmt.Sprintf("comment on issue #%d", iid), err)
	}
	s.log.Info("issue commented from chat", "issue", iid, "user", c.username)
	out := s.issueOf(cur)
	out.Comments++
	return out, nil
}

// MoveIssue moves issue iid to the project target (a path or an id).
// GitLab asks for the admin_issue right, Reporter or more, in both
// projects; a target the caller cannot read is "not found".
func (s *Service) MoveIssue(ctx context.Context, identity string, iid int64, target string) (moved Issue, err error) {
	ctx, cancel := s.bound(ctx, 6)
	defer cancel()
	p, c, err := s.issueProject(ctx, identity)
	if err != nil {
		return Issue{}, err
	}
	if c.level < Reporter {
		return Issue{}, s.needRole(c, Reporter, "move issues")
	}
	if _, err := s.issue(ctx, p, c, iid); err != nil {
		return Issue{}, err
	}
	notFound := &bot.Refusal{Title: "Project " + target + " not found",
		Text: "Give the full path of the project to move the issue to (group/project), one you can see in GitLab."}
	var pid any = target
	if n, err := strconv.ParseInt(target, 10, 64); err == nil {
		pid = n
	}
	to, _, err := s.client.Projects.GetProject(pid, nil, gl.WithContext(ctx))
	if statusOf(err) == http.StatusNotFound {
		return Issue{}, notFound
	}
	if err != nil {
		return Issue{}, s.apiRefusal("read the project "+target, err)
	}
	tc, err := s.who(ctx, identity, to.ID)
	if err != nil {
		return Issue{}, err
	}
	switch {
	case !issuesReadable(to, tc.level):
		return Issue{}, notFound // GitLab's answer for issues the caller may not see
	case tc.level < Reporter:
		return Issue{}, &bot.Refusal{Title: "You may not move issues to " + to.PathWithNamespace,
			Text: fmt.Sprintf("Moving an issue needs at least the Reporter role in both projects; GitLab user %s is %s in %s.", c.username, article(levelName(tc.level)), to.PathWithNamespace)}
	}
	as, _, err := s.writeAs(ctx, identity, c)
	if err != nil {
		return Issue{}, err
	}
	is, _, err := s.client.Issues.MoveIssue(p.ID, iid, &gl.MoveIssueOptions{ToProjectID: gl.Ptr(to.ID)}, append(as, gl.WithContext(ctx), noRetry)...)
	if err != nil {
		return Issue{}, s.apiRefusal(fmt.Sprintf("move issue #%d to %s", iid, to.PathWithNamespace), err)
	}
	s.log.Info("issue moved from chat", "issue", iid, "to", to.PathWithNamespace, "new_issue", is.IID, "user", c.username)
	out := s.issueOf(is)
	out.Project = to.PathWithNamespace
	return out, nil
}

// needRole refuses a caller whose role is below need.
func (s *Service) needRole(c caller, need int, doing string) *bot.Refusal {
	return &bot.Refusal{Title: "You may not " + doing + " in " + s.cfg.Project,
		Text: fmt.Sprintf("GitLab lets only the %s role or more %s; GitLab user %s is %s. Ask a Maintainer of the project.",
			levelName(need), doing, c.username, article(levelName(c.level)))}
}

func article(role string) string {
	switch role {
	case "no role":
		return "not a member"
	case "Owner":
		return "an Owner"
	}
	return "a " + role
}

func (s *Service) issueOf(is *gl.Issue) Issue {
	out := Issue{IID: is.IID, Title: is.Title, State: is.State, Description: is.Description, Labels: is.Labels,
		Confidential: is.Confidential, Comments: is.UserNotesCount, WebURL: is.WebURL, Project: s.cfg.Project}
	if is.Author != nil {
		out.Author = is.Author.Username
	}
	for _, a := range is.Assignees {
		if a != nil {
			out.Assignees = append(out.Assignees, a.Username)
		}
	}
	if is.UpdatedAt != nil {
		out.UpdatedAt = *is.UpdatedAt
	}
	return out
}
