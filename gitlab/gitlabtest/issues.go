package gitlabtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Issue describes an issue a test adds to the fake (AddIssue).
type Issue struct {
	Title, Description string
	Labels             []string
	// Author and Assignees are usernames of users added with AddUser;
	// the author defaults to the bot's own user.
	Author       string
	Assignees    []string
	Confidential bool
	Closed       bool
	// Locked locks the discussion: only Reporters and up may comment.
	Locked bool
}

// IssueInfo is an issue as the fake holds it, for assertions.
type IssueInfo struct {
	IID         int64
	Project     string
	Title       string
	Description string
	State       string
	Author      string
	// Notes are the comments' bodies, oldest first; NoteAuthors their
	// authors' usernames.
	Notes, NoteAuthors []string
	// ClosedBy is the username of who closed it ("" while open or when
	// created closed).
	ClosedBy string
	// MovedTo is "path#iid" of the issue it was moved to.
	MovedTo string
}

type issue struct {
	id, iid      int64
	project      *project
	title, desc  string
	labels       []string
	author       *user
	assignees    []*user
	confidential bool
	locked       bool
	state        string
	created      time.Time
	updated      time.Time
	closed       time.Time
	notes        []string
	noteAuthors  []string
	closedBy     *user
	movedTo      *issue
}

// AddIssue adds an issue to the default project and returns its iid.
func (s *Server) AddIssue(i Issue) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addIssueLocked(s.projects[0], i).iid
}

// AddIssue adds an issue to the project and returns its iid.
func (h *Project) AddIssue(i Issue) int64 {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	return h.s.addIssueLocked(h.p, i).iid
}

// SetPublic makes the project public (true) or private (false, the
// default): anyone signed in may then read it and open issues.
func (h *Project) SetPublic(on bool) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	h.p.public = on
}

// SetIssuesAccess sets the project's Issues feature, GitLab's
// issues_access_level: "enabled" (the default: whoever can read the
// project), "private" (Only Project Members) or "disabled". The fake
// reports it in GET /projects/:id; as on GitLab, the bot's own token
// still reads the issues, so it is the bot that must hide them.
func (h *Project) SetIssuesAccess(level string) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	h.p.issuesAccess = level
}

// DefaultProject is a handle on the default project (Options.ProjectPath).
func (s *Server) DefaultProject() *Project {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &Project{s: s, p: s.projects[0]}
}

func (s *Server) addIssueLocked(p *project, i Issue) *issue {
	s.nextID++
	p.nextIID++
	now := time.Now()
	is := &issue{id: s.nextID, iid: p.nextIID, project: p, title: i.Title, desc: i.Description, labels: append([]string{}, i.Labels...),
		confidential: i.Confidential, locked: i.Locked, state: "opened", created: now, updated: now, author: s.botUserLocked()}
	if u := s.users[i.Author]; u != nil {
		is.author = u
	}
	for _, a := range i.Assignees {
		if u := s.users[a]; u != nil {
			is.assignees = append(is.assignees, u)
		}
	}
	if i.Closed {
		is.state, is.closed = "closed", now
	}
	p.issues = append(p.issues, is)
	return is
}

// Issues returns the project's issues (default project: path ""), oldest
// first.
func (s *Server) Issues(path string) []IssueInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []IssueInfo
	for _, p := range s.projects {
		if (path == "" && p != s.projects[0]) || (path != "" && p.path != path) {
			continue
		}
		for _, is := range p.issues {
			info := IssueInfo{IID: is.iid, Project: p.path, Title: is.title, Description: is.desc, State: is.state,
				Author: is.author.Username, Notes: append([]string(nil), is.notes...),
				NoteAuthors: append([]string(nil), is.noteAuthors...)}
			if is.closedBy != nil {
				info.ClosedBy = is.closedBy.Username
			}
			if is.movedTo != nil {
				info.MovedTo = fmt.Sprintf("%s#%d", is.movedTo.project.path, is.movedTo.iid)
			}
			out = append(out, info)
		}
	}
	return out
}

func (s *Server) botUserLocked() *user {
	return &user{ID: 1, Username: BotUser, Name: "chatops bot", State: "active", WebURL: s.srv.URL + "/" + BotUser}
}

func userJSON(u *user) map[string]any {
	return map[string]any{"id": u.ID, "username": u.Username, "name": u.Name, "state": u.State, "avatar_url": nil, "web_url": u.WebURL}
}

// issueJSON follows GET /projects/:id/issues/:iid in GitLab's issues API
// documentation.
func (s *Server) issueJSON(is *issue) map[string]any {
	assignees := []map[string]any{}
	for _, a := range is.assignees {
		assignees = append(assignees, userJSON(a))
	}
	var assignee any
	if len(assignees) > 0 {
		assignee = assignees[0]
	}
	m := map[string]any{
		"id": is.id, "iid": is.iid, "project_id": is.project.id, "title": is.title, "description": is.desc,
		"state": is.state, "created_at": timeRFC(is.created), "updated_at": timeRFC(is.updated), "closed_at": timeRFC(is.closed),
		"closed_by": nil, "labels": is.labels, "milestone": nil, "assignees": assignees, "assignee": assignee,
		"author": userJSON(is.author), "type": "ISSUE", "issue_type": "issue", "user_notes_count": len(is.notes),
		"merge_requests_count": 0, "upvotes": 0, "downvotes": 0, "due_date": nil, "confidential": is.confidential,
		"discussion_locked": is.locked, "web_url": fmt.Sprintf("%s/-/issues/%d", s.webURL(is.project), is.iid),
		"references": map[string]any{"short": fmt.Sprintf("#%d", is.iid), "relative": fmt.Sprintf("#%d", is.iid),
			"full": fmt.Sprintf("%s#%d", is.project.path, is.iid)},
		"moved_to_id": nil,
		"time_stats":  map[string]any{"time_estimate": 0, "total_time_spent": 0, "human_time_estimate": nil, "human_total_time_spent": nil},
	}
	if is.movedTo != nil {
		m["moved_to_id"] = is.movedTo.id
	}
	if is.closedBy != nil {
		m["closed_by"] = userJSON(is.closedBy)
	}
	return m
}

func (s *Server) lookupIssue(w http.ResponseWriter, r *http.Request) *issue {
	iid, _ := strconv.ParseInt(r.PathValue("iid"), 10, 64)
	for _, is := range projectOf(r).issues {
		if is.iid == iid {
			return is
		}
	}
	apiError(w, 404, "404 Not found")
	return nil
}

// listIssues filters (search in title and description, state,
// confidential), orders by created_at (sort) and pages with GitLab's
// headers.
func (s *Server) listIssues(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*issue
	search := strings.ToLower(q.Get("search"))
	for _, is := range projectOf(r).issues {
		switch {
		case search != "" && !strings.Contains(strings.ToLower(is.title+"\n"+is.desc), search),
			q.Get("state") != "" && q.Get("state") != "all" && q.Get("state") != is.state,
			q.Get("confidential") != "" && q.Get("confidential") != strconv.FormatBool(is.confidential):
			continue
		}
		list = append(list, is)
	}
	asc := q.Get("sort") == "asc"
	sort.Slice(list, func(a, b int) bool { return (list[a].id < list[b].id) == asc })
	out := []map[string]any{}
	for _, is := range page(w, r, list) {
		out = append(out, s.issueJSON(is))
	}
	writeJSON(w, 200, out)
}

// page cuts list to the requested page and sets GitLab's paging headers.
func page[T any](w http.ResponseWriter, r *http.Request, list []T) []T {
	q := r.URL.Query()
	pg, _ := strconv.Atoi(q.Get("page"))
	per, _ := strconv.Atoi(q.Get("per_page"))
	pg, per = max(pg, 1), min(max(per, 1), 100)
	if q.Get("per_page") == "" {
		per = 20
	}
	start := min((pg-1)*per, len(list))
	end := min(start+per, len(list))
	h := w.Header()
	h.Set("X-Page", strconv.Itoa(pg))
	h.Set("X-Per-Page", strconv.Itoa(per))
	h.Set("X-Total", strconv.Itoa(len(list)))
	h.Set("X-Total-Pages", strconv.Itoa((len(list)+per-1)/per))
	if end < len(list) {
		h.Set("X-Next-Page", strconv.Itoa(pg+1))
	} else {
		h.Set("X-Next-Page", "")
	}
	return list[start:end]
}

func (s *Server) getIssue(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if is := s.lookupIssue(w, r); is != nil {
		writeJSON(w, 200, s.issueJSON(is))
	}
}

func (s *Server) createIssue(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Title       string `json:"title"`
		Description string `json:"description"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Title == "" {
		apiError(w, 400, map[string][]string{"title": {"can't be blank"}})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.addIssueLocked(projectOf(r), Issue{Title: body.Title, Description: body.Description})
	is.author = s.requesterLocked(r)
	writeJSON(w, 201, s.issueJSON(is))
}

// updateIssue handles state_event (close, reopen), the one update
// chatops makes.
func (s *Server) updateIssue(w http.ResponseWriter, r *http.Request) {
	var body struct {
		StateEvent string `json:"state_event"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.lookupIssue(w, r)
	if is == nil {
		return
	}
	now := time.Now()
	switch body.StateEvent {
	case "close":
		if is.state != "closed" {
			is.state, is.closed, is.updated = "closed", now, now
			is.closedBy = s.requesterLocked(r)
		}
	case "reopen":
		is.state, is.closed, is.updated = "opened", time.Time{}, now
	}
	writeJSON(w, 200, s.issueJSON(is))
}

// moveIssue is POST /issues/:iid/move: a copy in the target project with
// a new iid, the original closed and pointing at it.
func (s *Server) moveIssue(w http.ResponseWriter, r *http.Request) {
	var body struct {
		To int64 `json:"to_project_id"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.lookupIssue(w, r)
	if is == nil {
		return
	}
	var to *project
	for _, p := range s.projects {
		if p.id == body.To {
			to = p
		}
	}
	switch {
	case to == nil:
		apiError(w, 404, "404 Project Not Found")
		return
	case to == is.project:
		apiError(w, 400, "Cannot move issue to project it originates from!")
		return
	case is.movedTo != nil:
		apiError(w, 400, "Cannot move issue which was already moved to another project!")
		return
	}
	names := func(us []*user) []string {
		var out []string
		for _, u := range us {
			out = append(out, u.Username)
		}
		return out
	}
	moved := s.addIssueLocked(to, Issue{Title: is.title, Description: is.desc, Labels: is.labels, Assignees: names(is.assignees), Confidential: is.confidential})
	moved.author = is.author
	is.movedTo = moved
	is.state, is.closed, is.updated = "closed", time.Now(), time.Now()
	writeJSON(w, 201, s.issueJSON(moved))
}

// createNote is POST /issues/:iid/notes.
func (s *Server) createNote(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Body string `json:"body"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Body == "" {
		apiError(w, 400, map[string][]string{"note": {"can't be blank"}})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.lookupIssue(w, r)
	if is == nil {
		return
	}
	author := s.requesterLocked(r)
	is.notes = append(is.notes, body.Body)
	is.noteAuthors = append(is.noteAuthors, author.Username)
	s.nextID++
	now := time.Now()
	is.updated = now
	writeJSON(w, 201, map[string]any{"id": s.nextID, "body": body.Body, "attachment": nil,
		"author": map[string]any{"id": author.ID, "username": author.Username, "name": author.Name, "state": author.State}, "created_at": timeRFC(now), "updated_at": timeRFC(now), "system": false,
		"noteable_id": is.id, "noteable_type": "Issue", "noteable_iid": is.iid, "project_id": is.project.id,
		"resolvable": false, "confidential": false, "internal": false})
}
