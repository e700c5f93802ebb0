package gitlabtest

import (
	"fmt"
	"net/http"
	"sort"
	"time"
)

// environment is one of a project's environments, created with the first
// pipeline that has a job for it, as GitLab does.
type environment struct {
	id      int64
	name    string
	created time.Time
}

// deployment is GitLab's record of a job with an environment: created
// with the pipeline ("created"), then following its job (running,
// success, failed, canceled).
type deployment struct {
	id, iid  int64
	env      *environment
	job      *job
	status   string
	created  time.Time
	updated  time.Time
	finished time.Time
}

// environmentLocked returns the project's environment named name,
// creating it.
func (s *Server) environmentLocked(p *project, name string) *environment {
	for _, e := range p.environments {
		if e.name == name {
			return e
		}
	}
	s.nextID++
	e := &environment{id: s.nextID, name: name, created: time.Now()}
	p.environments = append(p.environments, e)
	return e
}

// deployLocked records the deployment of a new job with an environment.
func (s *Server) deployLocked(j *job) {
	if j.spec.Environment == "" {
		return
	}
	p := j.Pipeline.project
	s.nextID++
	p.nextDeploymentIID++
	now := time.Now()
	p.deployments = append(p.deployments, &deployment{id: s.nextID, iid: p.nextDeploymentIID,
		env: s.environmentLocked(p, j.spec.Environment), job: j, status: "created", created: now, updated: now})
}

// syncDeploymentLocked moves a job's deployment with the job's status.
func (s *Server) syncDeploymentLocked(j *job) {
	for _, d := range j.Pipeline.project.deployments {
		if d.job != j {
			continue
		}
		switch j.Status {
		case "running", "success", "failed", "canceled":
			d.status = j.Status
		}
		d.updated = time.Now()
		if j.Status == "success" || j.Status == "failed" || j.Status == "canceled" {
			d.finished = d.updated
		}
	}
}

func (s *Server) environmentJSON(e *environment) map[string]any {
	return map[string]any{"id": e.id, "name": e.name, "slug": e.name, "external_url": nil, "state": "available",
		"tier": tier(e.name), "created_at": timeRFC(e.created), "updated_at": timeRFC(e.created)}
}

// tier guesses the deployment tier from the name, as GitLab does.
func tier(name string) string {
	switch name {
	case "production", "staging", "testing", "development":
		return name
	}
	return "other"
}

// deploymentJSON follows GitLab's deployments API documentation.
func (s *Server) deploymentJSON(d *deployment) map[string]any {
	j, p := d.job, d.job.Pipeline
	deployable := map[string]any{
		"id": j.ID, "name": j.Name, "stage": j.Stage, "status": j.Status, "ref": p.Ref, "tag": p.project.tags[p.Ref],
		"coverage": nil, "runner": nil, "created_at": timeRFC(j.Created), "started_at": timeRFC(j.Started), "finished_at": timeRFC(j.Finished),
		"user":   userJSON(s.botUserLocked()),
		"commit": map[string]any{"id": p.SHA, "short_id": p.SHA[:8], "title": "Update .gitlab-ci.yml"},
		"pipeline": map[string]any{"id": p.ID, "sha": p.SHA, "ref": p.Ref, "status": p.status(),
			"created_at": timeRFC(p.Created), "updated_at": timeRFC(p.Updated), "web_url": fmt.Sprintf("%s/-/pipelines/%d", s.webURL(p.project), p.ID)},
	}
	return map[string]any{
		"id": d.id, "iid": d.iid, "ref": p.Ref, "sha": p.SHA, "status": d.status,
		"created_at": timeRFC(d.created), "updated_at": timeRFC(d.updated),
		"user":        userJSON(s.botUserLocked()),
		"environment": map[string]any{"id": d.env.id, "name": d.env.name, "external_url": nil},
		"deployable":  deployable,
	}
}

// listEnvironments is GET /projects/:id/environments (name, states).
func (s *Server) listEnvironments(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := projectOf(r)
	var list []*environment
	for _, e := range p.environments {
		if (q.Get("name") == "" || q.Get("name") == e.name) && (q.Get("states") == "" || q.Get("states") == "available") {
			list = append(list, e)
		}
	}
	out := []map[string]any{}
	for _, e := range page(w, r, list) {
		out = append(out, s.environmentJSON(e))
	}
	writeJSON(w, 200, out)
}

// listDeployments is GET /projects/:id/deployments: filters environment
// and status; orders by id, iid, created_at, updated_at or finished_at
// (which GitLab allows only with status=success); sort asc by default.
func (s *Server) listDeployments(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("order_by") == "finished_at" && q.Get("status") != "success" {
		apiError(w, 400, "`finished_at` order is only supported when `status` is `success`")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*deployment
	for _, d := range projectOf(r).deployments {
		if (q.Get("environment") == "" || q.Get("environment") == d.env.name) && (q.Get("status") == "" || q.Get("status") == d.status) {
			list = append(list, d)
		}
	}
	key := func(d *deployment) time.Time {
		switch q.Get("order_by") {
		case "created_at":
			return d.created
		case "updated_at":
			return d.updated
		case "finished_at":
			return d.finished
		}
		return time.Time{}
	}
	desc := q.Get("sort") == "desc"
	sort.SliceStable(list, func(a, b int) bool {
		x, y := list[a], list[b]
		less := x.id < y.id
		if kx, ky := key(x), key(y); !kx.Equal(ky) {
			less = kx.Before(ky)
		}
		return less != desc
	})
	out := []map[string]any{}
	for _, d := range page(w, r, list) {
		out = append(out, s.deploymentJSON(d))
	}
	writeJSON(w, 200, out)
}

// Push starts a pipeline on the default project's ref as a git push
// does (CI_PIPELINE_SOURCE "push"): its jobs run, manual ones wait, and
// jobs with an environment get deployments. It returns the pipeline's
// id, or 0 when the rules select no job.
func (s *Server) Push(ref string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pushLocked(s.projects[0], ref)
}

// Push is Server.Push in this project.
func (h *Project) Push(ref string) int64 {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	return h.s.pushLocked(h.p, ref)
}

func (s *Server) pushLocked(p *project, ref string) int64 {
	if _, ok := p.refs[ref]; !ok {
		return 0
	}
	pl, _ := s.newPipelineLocked(p, ref, "push", s.Token, nil)
	if pl == nil {
		return 0
	}
	return pl.ID
}

// PlayCount counts the play requests the fake accepted for job jobID.
func (s *Server) PlayCount(jobID int64) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method == http.MethodPost && r.Path == fmt.Sprintf("/projects/%d/jobs/%d/play", s.jobProject(jobID), jobID) {
			n++
		}
	}
	return n
}

func (s *Server) jobProject(jobID int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if j := s.jobs[jobID]; j != nil {
		return j.Pipeline.project.id
	}
	return 0
}
