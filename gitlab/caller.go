package gitlab

import (
	"context"
	"fmt"
	"net/http"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/chatops-dev/chatops/bot"
)

// GitLab's access levels, for permission checks in and out of this
// package.
const (
	Guest     = int(gl.GuestPermissions)
	Reporter  = int(gl.ReporterPermissions)
	Developer = int(gl.DeveloperPermissions)
)

// caller is a chat user as GitLab knows them in one project: the mapped
// GitLab user and that user's access level there (0 for a non-member).
type caller struct {
	id       int64
	username string
	level    int
}

// levelName names an access level as GitLab's permission tables do.
func levelName(level int) string {
	switch {
	case level >= int(gl.OwnerPermissions):
		return "Owner"
	case level >= Maintainer:
		return "Maintainer"
	case level >= Developer:
		return "Developer"
	case level >= Reporter:
		return "Reporter"
	case level >= Guest:
		return "Guest"
	}
	return "no role"
}

// who maps a chat identity to its GitLab user and that user's level in
// the project pid (an id or a path). An unmapped identity costs GitLab
// nothing; an unknown, blocked or deactivated user is refused as `run`
// refuses them.
func (s *Service) who(ctx context.Context, identity string, pid any) (caller, error) {
	username, ok := s.username(ctx, identity)
	if !ok {
		return caller{}, s.unlinked(identity)
	}
	users, _, err := s.client.Users.ListUsers(&gl.ListUsersOptions{Username: gl.Ptr(username)}, gl.WithContext(ctx))
	if err != nil {
		return caller{}, s.apiRefusal("look up the GitLab user "+username, err)
	}
	if len(users) == 0 {
		return caller{}, &bot.Refusal{Title: "GitLab user " + username + " does not exist",
			Text: fmt.Sprintf("Your chat account is linked to %q in [identities], which GitLab does not know. Ask a chatops admin to fix the link.", username)}
	}
	u := users[0]
	if u.State != "" && u.State != "active" {
		return caller{}, &bot.Refusal{Title: "GitLab user " + username + " is " + u.State, Text: "Blocked or deactivated users cannot act in GitLab."}
	}
	c := caller{id: u.ID, username: username}
	m, _, err := s.client.ProjectMembers.GetInheritedProjectMember(pid, u.ID, gl.WithContext(ctx))
	switch {
	case statusOf(err) == http.StatusNotFound:
		return c, nil
	case err != nil:
		return caller{}, s.apiRefusal("check "+username+"'s role", err)
	}
	c.level = int(m.AccessLevel)
	return c, nil
}

// readable reports whether a user with level may read a project of that
// visibility, as GitLab decides for a signed-in user: anyone on public
// and internal projects, members (Guest or more) on private ones.
func readable(visibility gl.VisibilityValue, level int) bool {
	return visibility == gl.PublicVisibility || visibility == gl.InternalVisibility || level >= Guest
}

// issuesReadable reports whether a user with level may see the project's
// issues, as GitLab decides for a signed-in user: the project must be
// readable, and its Issues feature (issues_access_level) decides the
// rest: "disabled" hides them from everyone, "private" ("Only Project
// Members") from non-members even on a public or internal project. The
// bot reads issues with its own token, which a member holds, so without
// this check a non-member would be shown what GitLab hides from them.
func issuesReadable(p *gl.Project, level int) bool {
	if !readable(p.Visibility, level) {
		return false
	}
	switch p.IssuesAccessLevel {
	case gl.DisabledAccessControl:
		return false
	case gl.PrivateAccessControl:
		return level >= Guest
	}
	return true // enabled, public, or a GitLab too old to say
}
