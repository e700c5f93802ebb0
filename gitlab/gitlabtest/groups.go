package gitlabtest

import (
	"net/http"
	"strconv"
	"strings"
)

// AddGroupMember makes the user username a member of the group path with
// the access level (creating the group). Members of a group are members
// of its subgroups too, as GitLab's members/all endpoint reports.
func (s *Server) AddGroupMember(group, username string, access int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[username]
	if !ok {
		panic("gitlabtest: AddGroupMember of unknown user " + username)
	}
	if s.groups == nil {
		s.groups = map[string]map[int64]int{}
	}
	if s.groups[group] == nil {
		s.groups[group] = map[int64]int{}
	}
	s.groups[group][u.ID] = access
}

// AddGroup creates the group path with no members of its own (a
// subgroup whose members come from its parents).
func (s *Server) AddGroup(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.groups == nil {
		s.groups = map[string]map[int64]int{}
	}
	if s.groups[path] == nil {
		s.groups[path] = map[int64]int{}
	}
}

// getGroupMember is GET /groups/:id/members/all/:user_id: the member
// with their access level in the group or an ancestor (the highest), or
// 404.
func (s *Server) getGroupMember(w http.ResponseWriter, r *http.Request) {
	gid := r.PathValue("gid")
	uid, _ := strconv.ParseInt(r.PathValue("uid"), 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.groups[gid]; !ok {
		apiError(w, http.StatusNotFound, "404 Group Not Found")
		return
	}
	level := 0
	for path := gid; path != ""; {
		level = max(level, s.groups[path][uid])
		i := strings.LastIndexByte(path, '/')
		if i < 0 {
			break
		}
		path = path[:i]
	}
	if level == 0 {
		apiError(w, http.StatusNotFound, "404 Not found")
		return
	}
	for _, u := range s.users {
		if u.ID == uid {
			writeJSON(w, http.StatusOK, map[string]any{"id": u.ID, "username": u.Username, "name": u.Name, "state": u.State, "access_level": level})
			return
		}
	}
	apiError(w, http.StatusNotFound, "404 Not found")
}
