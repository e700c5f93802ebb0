package gitlab

import (
	"context"
	"net/http"

	gl "gitlab.com/gitlab-org/api/client-go"
)

// InGroup reports whether the GitLab user username is a member of group
// (a path or id), directly or through an ancestor group, as GitLab's
// GET /groups/:id/members/all/:user_id tells. An unknown user or group,
// or a blocked user, is not a member: per-job policy denies by default.
func (s *Service) InGroup(ctx context.Context, username, group string) (bool, error) {
	ctx, cancel := s.bound(ctx, 2)
	defer cancel()
	users, _, err := s.client.Users.ListUsers(&gl.ListUsersOptions{Username: gl.Ptr(username)}, gl.WithContext(ctx))
	if err != nil {
		return false, s.apiRefusal("look up the GitLab user "+username, err)
	}
	if len(users) == 0 || (users[0].State != "" && users[0].State != "active") {
		return false, nil
	}
	m, _, err := s.client.GroupMembers.GetInheritedGroupMember(group, users[0].ID, gl.WithContext(ctx))
	switch {
	case statusOf(err) == http.StatusNotFound:
		return false, nil
	case err != nil:
		return false, s.apiRefusal("check "+username+"'s membership of "+group, err)
	}
	return m.AccessLevel >= gl.GuestPermissions, nil
}
