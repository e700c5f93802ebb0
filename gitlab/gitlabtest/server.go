// Package gitlabtest is an in-process fake GitLab for tests and the demo:
// the REST endpoints chatops uses, with the real API's JSON shapes, a
// pipeline creator that evaluates the CI configuration's rules the way
// GitLab does for an API-triggered pipeline, jobs that run on a timeline
// the test controls and write logs in GitLab Runner's format, fault
// injection and recorded requests.
package gitlabtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Access levels of the members API.
const (
	Guest      = 10
	Reporter   = 20
	Developer  = 30
	Maintainer = 40
	Owner      = 50
)

// Request is one recorded API request.
type Request struct {
	Method string
	Path   string // without /api/v4, unescaped
	Query  string
	Body   string
	// Token is the token the request carried (Private-Token or OAuth
	// bearer), Sudo its Sudo header.
	Token, Sudo string
}

// Options configure a fake.
type Options struct {
	// Token is the accepted Private-Token (default "glpat-test").
	Token string
	// ProjectPath is the project's path (default "demo/chatops").
	ProjectPath string
	// CIConfig is the merged .gitlab-ci.yml the lint API returns.
	CIConfig string
	// Exec runs one script line of a job; default: ShellExec.
	Exec Exec
	// Admin makes the token's user an administrator: GET /user says
	// is_admin, and the Sudo header is honoured. Without it a request
	// with Sudo is refused with 403, as GitLab refuses a non-admin token.
	Admin bool
}

// Server is the fake GitLab.
type Server struct {
	Token       string
	ProjectID   int64
	ProjectPath string

	srv   *httptest.Server
	exec  Exec
	admin bool

	mu       sync.Mutex
	projects []*project       // the first is the default project
	users    map[string]*user // by username
	// groups are group paths and their members' access levels by user id
	// (AddGroupMember); membership is direct, inherited by subgroups.
	groups    map[string]map[int64]int
	pipelines map[int64]*pipeline
	jobs      map[int64]*job
	nextID    int64
	requests  []Request
	faults    []fault
	holds     []*Hold
	// blocked holds the job names that stay running until canceled or
	// unblocked; Unblock closes the channel.
	blocked map[string]chan struct{}
	// jobChanged is closed and replaced whenever a job changes state.
	jobChanged   chan struct{}
	closed       bool
	traceSources []traceSource
	// A project webhook with Job events (SetWebhook).
	hookURL, hookSecret string
	hooksSent           int
	// oauth is the OAuth state (oauth.go), made on first use.
	oauth *oauthState
}

type user struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	Name     string `json:"name"`
	State    string `json:"state"`
	WebURL   string `json:"web_url"`
}

// New starts a fake GitLab.
func New(opts Options) *Server {
	if opts.Token == "" {
		opts.Token = "glpat-test"
	}
	if opts.ProjectPath == "" {
		opts.ProjectPath = "demo/chatops"
	}
	if opts.Exec == nil {
		opts.Exec = ShellExec
	}
	s := &Server{
		Token: opts.Token, ProjectID: 42, ProjectPath: opts.ProjectPath,
		exec:  opts.Exec,
		admin: opts.Admin,
		users: map[string]*user{}, pipelines: map[int64]*pipeline{},
		jobs: map[int64]*job{}, nextID: 100, blocked: map[string]chan struct{}{}, jobChanged: make(chan struct{}),
	}
	s.addProjectLocked(opts.ProjectPath, opts.CIConfig)
	s.srv = httptest.NewServer(s.routes())
	return s
}

// URL is the base URL (for the client's WithBaseURL).
func (s *Server) URL() string { return s.srv.URL }

// Close stops the server; running jobs are abandoned.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	holds := s.holds
	s.mu.Unlock()
	for _, h := range holds {
		h.once.Do(func() { close(h.released) })
	}
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// AddUser adds an active user who is a member of the default project with
// the access level (0 for a non-member) and returns the user id.
func (s *Server) AddUser(username string, access int) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	id := s.nextID
	s.users[username] = &user{ID: id, Username: username, Name: username, State: "active", WebURL: s.srv.URL + "/" + username}
	if access > 0 {
		s.projects[0].members[id] = access
	}
	return id
}

// BlockUser marks a user blocked.
func (s *Server) BlockUser(username string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[username]; u != nil {
		u.State = "blocked"
	}
}

// SetCIConfig replaces the CI configuration as a new commit on the default
// branch (a new HEAD sha).
func (s *Server) SetCIConfig(yaml string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setRefLocked(s.projects[0], "main", yaml, false)
}

// Block makes jobs with this name stay running, once their script has
// run, until canceled or Unblock.
func (s *Server) Block(jobName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.blocked[jobName] == nil {
		s.blocked[jobName] = make(chan struct{})
	}
}

// Unblock lets the blocked jobs with this name finish as their script
// said (success or failed), and new ones run freely.
func (s *Server) Unblock(jobName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch := s.blocked[jobName]; ch != nil {
		close(ch)
		delete(s.blocked, jobName)
	}
}

// SetProtectedBranch makes pipeline creation on the default branch
// refused as for a user who may not push to a protected branch.
func (s *Server) SetProtectedBranch(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.projects[0].protected = on
}

// SetVariablesForbidden makes pipeline variables refused, as on projects
// whose "minimum role to use pipeline variables" is "no one allowed".
func (s *Server) SetVariablesForbidden(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.projects[0].varsForbidden = on
}

// Requests returns the recorded requests.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count returns how many recorded requests had the method and a path
// starting with prefix.
func (s *Server) Count(method, prefix string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method == method && strings.HasPrefix(r.Path, prefix) {
			n++
		}
	}
	return n
}

// Pipelines returns the created pipelines, oldest first.
func (s *Server) Pipelines() []PipelineInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []PipelineInfo
	for id := int64(0); id <= s.nextID; id++ {
		if p, ok := s.pipelines[id]; ok {
			info := PipelineInfo{ID: p.ID, Created: p.Created, Project: p.project.path, Ref: p.Ref, Token: p.Token, Sudo: p.Sudo, Status: p.status(), Variables: map[string]string{}}
			for _, v := range p.Variables {
				info.Variables[v.Key] = v.Value
			}
			for _, j := range p.jobs {
				info.Jobs = append(info.Jobs, j.Name+":"+j.Status)
				info.JobIDs = append(info.JobIDs, j.ID)
			}
			out = append(out, info)
		}
	}
	return out
}

// PipelineInfo describes a created pipeline for assertions.
type PipelineInfo struct {
	ID int64
	// Project is the project's path, Ref the branch or tag, Token the
	// token (Private-Token or OAuth bearer) that created the pipeline and
	// Sudo the user it was created as with the Sudo header.
	Project, Ref, Token, Sudo string
	Status                    string
	Variables                 map[string]string
	Jobs                      []string // "name:status"
	JobIDs                    []int64  // in the order of Jobs
	Created                   time.Time
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// apiError answers like GitLab: {"message": ...}.
func apiError(w http.ResponseWriter, status int, message any) {
	writeJSON(w, status, map[string]any{"message": message})
}

func newSHA(n int64) string { return fmt.Sprintf("%040x", uint64(n)*0x9e3779b97f4a7c15) }

func timeRFC(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format("2006-01-02T15:04:05.000Z")
	return &s
}
