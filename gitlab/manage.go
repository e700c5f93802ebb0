package gitlab

import (
	"context"
	"fmt"
	"net/http"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/chatops-dev/chatops/bot"
)

// Role returns the GitLab user a chat identity maps to and that user's
// access level in the project (0 for a non-member). A *bot.Refusal says
// why it cannot be known (an unmapped identity, an unknown user).
func (s *Service) Role(ctx context.Context, identity string) (username string, level int, err error) {
	username, ok := s.username(ctx, identity)
	if !ok {
		return "", 0, s.unlinked(identity)
	}
	ctx, cancel := s.bound(ctx, 2)
	defer cancel()
	users, _, err := s.client.Users.ListUsers(&gl.ListUsersOptions{Username: gl.Ptr(username)}, gl.WithContext(ctx))
	if err != nil {
		return "", 0, s.apiRefusal("look up the GitLab user "+username, err)
	}
	if len(users) == 0 || (users[0].State != "" && users[0].State != "active") {
		return username, 0, nil
	}
	m, _, err := s.client.ProjectMembers.GetInheritedProjectMember(s.cfg.Project, users[0].ID, gl.WithContext(ctx))
	if statusOf(err) == http.StatusNotFound {
		return username, 0, nil
	}
	if err != nil {
		return "", 0, s.apiRefusal("check "+username+"'s role", err)
	}
	return username, int(m.AccessLevel), nil
}

// Maintainer is GitLab's Maintainer access level, for permission checks
// done outside this package.
const Maintainer = int(gl.MaintainerPermissions)

// Cancel cancels a pipeline (idempotent in GitLab: canceling a finished
// pipeline changes nothing), as the Actor in ctx (WithActor).
func (s *Service) Cancel(ctx context.Context, projectID, pipelineID int64) error {
	opts := s.as(actorFrom(ctx))
	ctx, cancel := s.bound(ctx, 1)
	defer cancel()
	if _, _, err := s.client.Pipelines.CancelPipelineBuild(projectID, pipelineID, append(opts, gl.WithContext(ctx))...); err != nil {
		return s.apiRefusal(fmt.Sprintf("cancel pipeline #%d", pipelineID), err)
	}
	return nil
}

// Project is the project this service serves, as configured.
func (s *Service) Project() string { return s.cfg.Project }

// unlinked is the refusal for a chat identity with no GitLab user.
func (s *Service) unlinked(identity string) *bot.Refusal {
	if s.cfg.Linking {
		return &bot.Refusal{Title: "Your chat account is not linked to a GitLab account",
			Text: "Send `link` to the bot in a direct message and approve the request in GitLab; then your commands act as your GitLab user."}
	}
	return &bot.Refusal{Title: "Your chat account is not linked to a GitLab account",
		Text: fmt.Sprintf("Ask a chatops admin to add this line under [identities] in the bot's configuration, with your GitLab username:\n\"%s\" = \"<your GitLab username>\"", identity)}
}
