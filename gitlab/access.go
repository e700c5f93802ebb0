package gitlab

import (
	"context"
	"fmt"
	"net/http"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/chatops-dev/chatops/bot"
)

var roleNames = map[gl.AccessLevelValue]string{gl.DeveloperPermissions: "Developer", gl.MaintainerPermissions: "Maintainer", gl.OwnerPermissions: "Owner"}

// authorize maps a chat identity to its GitLab user (the linked one when
// actor carries a token, else [identities]) and checks that the user may
// run pipelines: active, and a project member with at least the
// configured role. The bot's min_role applies to linked users too: GitLab
// then checks the user's rights once more when the pipeline is created.
// identity is "platform:userID", never a display name.
func (s *Service) authorize(ctx context.Context, p *project, identity string, actor Actor) (string, error) {
	username, ok := s.cfg.Identities[identity]
	if actor.Linked() {
		username, ok = actor.Username, true
	}
	if !ok {
		return "", s.unlinked(identity)
	}
	users, _, err := s.client.Users.ListUsers(&gl.ListUsersOptions{Username: gl.Ptr(username)}, gl.WithContext(ctx))
	if err != nil {
		return "", s.apiRefusal("look up the GitLab user "+username, err)
	}
	if len(users) == 0 {
		return "", &bot.Refusal{Title: "GitLab user " + username + " does not exist",
			Text: fmt.Sprintf("Your chat account is linked to %q in [identities], which GitLab does not know. Ask a chatops admin to fix the link.", username)}
	}
	u := users[0]
	if u.State != "" && u.State != "active" {
		return "", &bot.Refusal{Title: "GitLab user " + username + " is " + u.State, Text: "Blocked or deactivated users cannot run pipelines."}
	}
	m, _, err := s.client.ProjectMembers.GetInheritedProjectMember(p.ID, u.ID, gl.WithContext(ctx))
	if statusOf(err) == http.StatusNotFound {
		return "", &bot.Refusal{Title: "You are not a member of " + s.cfg.Project,
			Text: fmt.Sprintf("GitLab user %s needs at least the %s role on %s to run jobs from chat.", username, roleNames[s.minLvl], s.cfg.Project)}
	}
	if err != nil {
		return "", s.apiRefusal("check "+username+"'s role", err)
	}
	if m.AccessLevel < s.minLvl {
		return "", &bot.Refusal{Title: "You may not run jobs in " + s.cfg.Project,
			Text: fmt.Sprintf("GitLab user %s has access level %d; running jobs from chat needs at least %s (%d). Ask a Maintainer of the project.", username, m.AccessLevel, roleNames[s.minLvl], s.minLvl)}
	}
	return username, nil
}
