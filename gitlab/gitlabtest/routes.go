package gitlabtest

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

func (s *Server) routes() http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("GET /api/v4/projects/{pid}", s.project(s.getProject))
	api.HandleFunc("GET /api/v4/projects/{pid}/repository/branches/{branch}", s.project(s.getBranch))
	api.HandleFunc("GET /api/v4/projects/{pid}/ci/lint", s.project(s.lint))
	api.HandleFunc("GET /api/v4/projects/{pid}/repository/commits/{ref}", s.project(s.getCommit))
	api.HandleFunc("GET /api/v4/users", s.listUsers)
	api.HandleFunc("GET /api/v4/user", s.currentUser)
	api.HandleFunc("GET /api/v4/projects/{pid}/members/all/{uid}", s.project(s.getMember))
	api.HandleFunc("GET /api/v4/groups/{gid}/members/all/{uid}", s.getGroupMember)
	api.HandleFunc("POST /api/v4/projects/{pid}/pipeline", s.project(s.createPipeline))
	api.HandleFunc("GET /api/v4/projects/{pid}/pipelines", s.project(s.listPipelines))
	api.HandleFunc("GET /api/v4/projects/{pid}/pipelines/{id}", s.project(s.getPipeline))
	api.HandleFunc("GET /api/v4/projects/{pid}/pipelines/{id}/variables", s.project(s.pipelineVariables))
	api.HandleFunc("GET /api/v4/projects/{pid}/pipelines/{id}/jobs", s.project(s.pipelineJobs))
	api.HandleFunc("GET /api/v4/projects/{pid}/pipelines/{id}/bridges", s.project(s.pipelineBridges))
	api.HandleFunc("POST /api/v4/projects/{pid}/pipelines/{id}/cancel", s.project(s.cancelPipeline))
	api.HandleFunc("GET /api/v4/projects/{pid}/jobs/{id}", s.project(s.getJob))
	api.HandleFunc("GET /api/v4/projects/{pid}/jobs/{id}/trace", s.project(s.trace))
	api.HandleFunc("GET /api/v4/projects/{pid}/jobs/{id}/artifacts/{path...}", s.project(s.artifactFile))
	api.HandleFunc("POST /api/v4/projects/{pid}/jobs/{id}/play", s.project(s.playJob))
	api.HandleFunc("POST /api/v4/projects/{pid}/jobs/{id}/cancel", s.project(s.cancelJob))
	api.HandleFunc("GET /api/v4/projects/{pid}/issues", s.project(s.listIssues))
	api.HandleFunc("POST /api/v4/projects/{pid}/issues", s.project(s.createIssue))
	api.HandleFunc("GET /api/v4/projects/{pid}/issues/{iid}", s.project(s.getIssue))
	api.HandleFunc("PUT /api/v4/projects/{pid}/issues/{iid}", s.project(s.updateIssue))
	api.HandleFunc("POST /api/v4/projects/{pid}/issues/{iid}/move", s.project(s.moveIssue))
	api.HandleFunc("POST /api/v4/projects/{pid}/issues/{iid}/notes", s.project(s.createNote))
	api.HandleFunc("GET /api/v4/projects/{pid}/environments", s.project(s.listEnvironments))
	api.HandleFunc("GET /api/v4/projects/{pid}/deployments", s.project(s.listDeployments))

	web := s.web()
	oauth := s.oauthRoutes()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/oauth/") {
			oauth.ServeHTTP(w, r)
			return
		}
		if !strings.HasPrefix(r.URL.Path, "/api/v4/") {
			web.ServeHTTP(w, r) // web pages need no token
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		path := strings.TrimPrefix(r.URL.Path, "/api/v4")
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: path, Query: r.URL.RawQuery, Body: string(body),
			Token: credential(r), Sudo: r.Header.Get("Sudo")})
		s.mu.Unlock()
		if !s.tokenOK(credential(r)) {
			apiError(w, http.StatusUnauthorized, "401 Unauthorized")
			return
		}
		if r.Header.Get("Sudo") != "" {
			s.mu.Lock()
			admin := s.admin && credential(r) == s.Token
			_, known := s.users[r.Header.Get("Sudo")]
			s.mu.Unlock()
			switch {
			case !admin:
				apiError(w, http.StatusForbidden, "403 Forbidden - Must be admin to use sudo")
				return
			case !known:
				apiError(w, http.StatusNotFound, "404 User Not Found")
				return
			}
		}
		if f, ok := s.takeFault(r, path); ok {
			if f.hang {
				// Accepted, never answered: the client must give up.
				<-r.Context().Done()
				return
			}
			if f.hold != nil {
				f.hold.serve(api, w, r)
				return
			}
			if f.afterWork {
				api.ServeHTTP(resetWriter{w}, r)
				reset(w)
				return
			}
			if f.retryAfter != "" {
				w.Header().Set("Retry-After", f.retryAfter)
			}
			apiError(w, f.status, http.StatusText(f.status))
			return
		}
		api.ServeHTTP(w, r)
	})
}

// project wraps handlers of /projects/{pid}: the id or the URL-encoded
// path both name the project; anything else is GitLab's 404.
func (s *Server) project(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		pid, _ := url.PathUnescape(r.PathValue("pid"))
		p := s.lookupProject(pid, credential(r))
		if p == nil {
			apiError(w, http.StatusNotFound, "404 Project Not Found")
			return
		}
		h(w, withProject(r, p))
	}
}

func (s *Server) webURL(p *project) string { return s.srv.URL + "/" + p.path }

func (s *Server) getProject(w http.ResponseWriter, r *http.Request) {
	p := projectOf(r)
	name := p.path[strings.LastIndex(p.path, "/")+1:]
	s.mu.Lock()
	visibility := "private"
	if p.public {
		visibility = "public"
	}
	issues := p.issuesAccess
	s.mu.Unlock()
	if issues == "" {
		issues = "enabled" // GitLab's default for a new project
	}
	writeJSON(w, 200, map[string]any{
		"id": p.id, "name": name, "path": name, "path_with_namespace": p.path,
		"default_branch": "main", "web_url": s.webURL(p), "visibility": visibility,
		"issues_access_level": issues,
	})
}

// getCommit answers GET /repository/commits/:ref for a branch, tag or sha.
func (s *Server) getCommit(w http.ResponseWriter, r *http.Request) {
	p := projectOf(r)
	ref, _ := url.PathUnescape(r.PathValue("ref"))
	s.mu.Lock()
	sha, ok := p.refs[ref]
	if !ok {
		if _, isSHA := p.configs[ref]; isSHA {
			sha, ok = ref, true
		}
	}
	s.mu.Unlock()
	if !ok {
		apiError(w, 404, "404 Commit Not Found")
		return
	}
	writeJSON(w, 200, map[string]any{"id": sha, "short_id": sha[:8], "title": "Update .gitlab-ci.yml",
		"web_url": s.webURL(p) + "/-/commit/" + sha})
}

func (s *Server) getBranch(w http.ResponseWriter, r *http.Request) {
	p := projectOf(r)
	name := r.PathValue("branch")
	s.mu.Lock()
	sha, ok := p.refs[name]
	ok = ok && !p.tags[name]
	protected := p.protected && name == "main"
	s.mu.Unlock()
	if !ok {
		apiError(w, 404, "404 Branch Not Found")
		return
	}
	writeJSON(w, 200, map[string]any{
		"name": name, "default": name == "main", "protected": protected, "merged": false,
		"commit":  map[string]any{"id": sha, "short_id": sha[:8], "title": "Update .gitlab-ci.yml"},
		"web_url": s.webURL(p) + "/-/tree/" + name,
	})
}

// lint answers for the configuration at content_ref (a sha, branch or
// tag; default: the default branch), as GitLab's project lint does.
func (s *Server) lint(w http.ResponseWriter, r *http.Request) {
	p := projectOf(r)
	ref := r.URL.Query().Get("content_ref")
	s.mu.Lock()
	if sha, ok := p.refs[ref]; ok {
		ref = sha
	}
	if ref == "" {
		ref = p.sha()
	}
	yaml, ok := p.configs[ref]
	s.mu.Unlock()
	if !ok {
		apiError(w, 404, "404 Commit Not Found")
		return
	}
	if _, err := parseCI(yaml); err != nil {
		writeJSON(w, 200, map[string]any{"valid": false, "errors": []string{err.Error()}, "warnings": []string{}, "merged_yaml": nil, "includes": []any{}})
		return
	}
	writeJSON(w, 200, map[string]any{"valid": true, "errors": []string{}, "warnings": []string{}, "merged_yaml": yaml, "includes": []any{}})
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []*user{}
	if u, ok := s.users[r.URL.Query().Get("username")]; ok {
		out = append(out, u)
	}
	writeJSON(w, 200, out)
}

func (s *Server) getMember(w http.ResponseWriter, r *http.Request) {
	uid, _ := strconv.ParseInt(r.PathValue("uid"), 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	level, ok := projectOf(r).members[uid]
	if !ok {
		apiError(w, 404, "404 Not found")
		return
	}
	for _, u := range s.users {
		if u.ID == uid {
			writeJSON(w, 200, map[string]any{"id": u.ID, "username": u.Username, "name": u.Name, "state": u.State, "access_level": level})
			return
		}
	}
	apiError(w, 404, "404 Not found")
}
