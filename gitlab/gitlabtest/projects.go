package gitlabtest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// project is one project of the fake: its repository (the default branch
// main and other refs, each with a CI configuration), its members and the
// project access tokens that may only reach it.
type project struct {
	id   int64
	path string
	// refs maps a branch or tag to its HEAD sha; configs maps a sha to
	// the merged CI configuration at that commit.
	refs    map[string]string
	tags    map[string]bool
	configs map[string]string
	members map[int64]int
	tokens  map[string]bool
	// The protected default branch refuses pipelines (403).
	protected bool
	// varsForbidden makes pipeline variables refused (GitLab.com default).
	varsForbidden bool
	// public makes the project readable by anyone signed in.
	public bool
	// issuesAccess is issues_access_level ("" means "enabled").
	issuesAccess string
	// variables are the project's CI/CD variables (SetVariable).
	variables map[string]string
	// issues, environments and deployments, with the next iids.
	issues            []*issue
	nextIID           int64
	environments      []*environment
	deployments       []*deployment
	nextDeploymentIID int64
}

func (p *project) sha() string      { return p.refs["main"] }
func (p *project) ciConfig() string { return p.configs[p.sha()] }

// Project is a handle on one project of the fake, for tests that serve
// several.
type Project struct {
	s *Server
	p *project
}

// ID is the project's numeric id; Path its "group/project" path.
func (h *Project) ID() int64    { return h.p.id }
func (h *Project) Path() string { return h.p.path } //nolint:revive // documented with ID

// AddProject adds a project at path whose default branch holds ciConfig.
func (s *Server) AddProject(path, ciConfig string) *Project {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &Project{s: s, p: s.addProjectLocked(path, ciConfig)}
}

func (s *Server) addProjectLocked(path, ciConfig string) *project {
	id := int64(42)
	if len(s.projects) > 0 {
		s.nextID++
		id = s.nextID
	}
	p := &project{id: id, path: path, refs: map[string]string{}, tags: map[string]bool{}, configs: map[string]string{},
		members: map[int64]int{}, tokens: map[string]bool{}}
	s.nextID++
	sha := newSHA(s.nextID)
	p.refs["main"], p.configs[sha] = sha, ciConfig
	s.projects = append(s.projects, p)
	return p
}

// AddMember makes an existing user a member with the access level.
func (h *Project) AddMember(username string, access int) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	if u := h.s.users[username]; u != nil {
		h.p.members[u.ID] = access
	}
}

// SetCIConfig replaces the default branch's CI configuration as a new
// commit.
func (h *Project) SetCIConfig(yaml string) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	h.s.setRefLocked(h.p, "main", yaml, false)
}

// AddRef adds (or moves) a branch, or a tag when tag is set, whose commit
// holds yaml as its CI configuration.
func (h *Project) AddRef(name, yaml string, tag bool) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	h.s.setRefLocked(h.p, name, yaml, tag)
}

func (s *Server) setRefLocked(p *project, name, yaml string, tag bool) {
	s.nextID++
	sha := newSHA(s.nextID)
	p.refs[name], p.configs[sha] = sha, yaml
	if tag {
		p.tags[name] = true
	}
}

// SetVariable sets a project CI/CD variable: every job of the project
// gets it in its environment, and pipeline variables that name it
// ($KEY, ${KEY}) are expanded to its value, as GitLab does.
func (h *Project) SetVariable(key, value string) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	if h.p.variables == nil {
		h.p.variables = map[string]string{}
	}
	h.p.variables[key] = value
}

// AddToken returns a new project access token: it reaches this project
// only, as GitLab's project tokens do (another project answers 404).
func (h *Project) AddToken() string {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	h.s.nextID++
	tok := fmt.Sprintf("glpat-project-%d-%d", h.p.id, h.s.nextID)
	h.p.tokens[tok] = true
	return tok
}

// tokenOK reports whether a Private-Token may use the API at all.
func (s *Server) tokenOK(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tok == s.Token {
		return true
	}
	if _, ok := s.oauthUserLocked(tok); ok {
		return true
	}
	for _, p := range s.projects {
		if p.tokens[tok] {
			return true
		}
	}
	return false
}

// lookupProject finds the project named by an id or a path that the token
// can see.
func (s *Server) lookupProject(pid, tok string) *project {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.projects {
		if pid != fmt.Sprint(p.id) && !strings.EqualFold(pid, p.path) {
			continue
		}
		if _, user := s.oauthUserLocked(tok); tok != s.Token && !p.tokens[tok] && !user {
			return nil // a project token of another project sees nothing
		}
		return p
	}
	return nil
}

type projectKey struct{}

// projectOf returns the project the request's path names.
func projectOf(r *http.Request) *project { return r.Context().Value(projectKey{}).(*project) }

func withProject(r *http.Request, p *project) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), projectKey{}, p))
}
