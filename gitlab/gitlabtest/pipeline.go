package gitlabtest

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

type variable struct {
	Key          string `json:"key"`
	Value        string `json:"value"`
	VariableType string `json:"variable_type"`
}

type pipeline struct {
	ID      int64
	project *project
	Ref     string
	// Source is how it was started: "api" (the bot) or "push".
	Source string
	// Token is the Private-Token that created the pipeline: GitLab
	// records the token's user as the pipeline's user.
	Token string
	// Sudo is the Sudo header it was created with.
	Sudo      string
	SHA       string
	Variables []variable
	Created   time.Time
	// Updated moves whenever one of its jobs changes status, as GitLab's
	// updated_at does.
	Updated time.Time
	jobs    []*job
	// bridges are its trigger jobs: they are not jobs to GitLab's jobs
	// API, and the fake runs no downstream pipeline for them.
	bridges []*job
}

func (p *pipeline) status() string {
	st := "success"
	for _, j := range p.jobs {
		switch j.Status {
		case "running", "pending", "created":
			return "running"
		case "manual":
			st = "manual"
		case "failed":
			return "failed"
		case "canceled":
			st = "canceled"
		}
	}
	return st
}

type job struct {
	ID       int64
	Name     string
	Stage    string
	Status   string
	Pipeline *pipeline
	Created  time.Time
	Started  time.Time
	Finished time.Time
	spec     *ciJob
	vars     map[string]string
	trace    strings.Builder
	source   func() io.Reader // overrides trace when set
	archive  *archive         // its artifacts (artifacts: paths), once finished
	cancel   chan struct{}
	once     sync.Once
}

func (s *Server) pipelineJSON(p *pipeline) map[string]any {
	return map[string]any{
		"id": p.ID, "iid": p.ID - 100, "project_id": p.project.id, "sha": p.SHA, "ref": p.Ref, "status": p.status(),
		"source": p.Source, "created_at": timeRFC(p.Created), "updated_at": timeRFC(p.Updated),
		"web_url": fmt.Sprintf("%s/-/pipelines/%d", s.webURL(p.project), p.ID),
	}
}

func (s *Server) jobJSON(j *job) map[string]any {
	m := map[string]any{
		"id": j.ID, "name": j.Name, "stage": j.Stage, "status": j.Status, "ref": j.Pipeline.Ref, "tag": j.Pipeline.project.tags[j.Pipeline.Ref],
		"allow_failure": false, "created_at": timeRFC(j.Created), "started_at": timeRFC(j.Started),
		"finished_at": timeRFC(j.Finished), "duration": nil, "queued_duration": 0.1,
		"web_url":  fmt.Sprintf("%s/-/jobs/%d", s.webURL(j.Pipeline.project), j.ID),
		"pipeline": map[string]any{"id": j.Pipeline.ID, "project_id": j.Pipeline.project.id, "ref": j.Pipeline.Ref, "sha": j.Pipeline.SHA, "status": j.Pipeline.status()},
	}
	artifactsJSON(m, j)
	if !j.Started.IsZero() {
		end := j.Finished
		if end.IsZero() {
			end = time.Now()
		}
		m["duration"] = end.Sub(j.Started).Seconds()
	}
	return m
}

func (s *Server) createPipeline(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Ref       string     `json:"ref"`
		Variables []variable `json:"variables"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Ref == "" {
		apiError(w, 400, "ref is missing")
		return
	}
	pr := projectOf(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	refuse := func(msg string) { apiError(w, 400, map[string][]string{"base": {msg}}) }
	_, ok := pr.refs[body.Ref]
	if !ok {
		refuse("Reference not found")
		return
	}
	if pr.protected && body.Ref == "main" {
		refuse("You do not have sufficient permission to run a pipeline on 'main'. Please select a different branch or contact your administrator for assistance.")
		return
	}
	if pr.varsForbidden && len(body.Variables) > 0 {
		refuse("Insufficient permissions to set pipeline variables")
		return
	}
	// A user's OAuth token creates pipelines as that user, who needs the
	// Developer role, as in GitLab.
	if u, ok := s.oauthUserLocked(credential(r)); ok && pr.members[u.ID] < Developer {
		apiError(w, http.StatusForbidden, "403 Forbidden")
		return
	}
	p, msg := s.newPipelineLocked(pr, body.Ref, "api", credential(r), body.Variables)
	if p == nil {
		refuse(msg)
		return
	}
	p.Sudo = r.Header.Get("Sudo")
	writeJSON(w, 201, s.pipelineJSON(p))
}

// newPipelineLocked creates a pipeline on ref as GitLab does for source
// (rules evaluated, manual jobs waiting, the others started), with their
// deployments; nil and GitLab's message when no job is selected.
func (s *Server) newPipelineLocked(pr *project, ref, source, token string, variables []variable) (*pipeline, string) {
	sha := pr.refs[ref]
	specs, err := parseCI(pr.configs[sha])
	if err != nil {
		return nil, err.Error()
	}
	vars := map[string]string{"CI_PIPELINE_SOURCE": source, "CI_COMMIT_REF_NAME": ref, "CI_DEFAULT_BRANCH": "main", "CI_PROJECT_PATH": pr.path}
	if pr.tags[ref] {
		vars["CI_COMMIT_TAG"] = ref
	} else {
		vars["CI_COMMIT_BRANCH"] = ref
	}
	for k, v := range pr.variables {
		vars[k] = v
	}
	// Pipeline variables created through the API are not raw: GitLab
	// expands the variables they name, and $$ is a literal $.
	known := maps.Clone(vars)
	for _, v := range variables {
		known[v.Key] = v.Value
	}
	for _, v := range variables {
		vars[v.Key] = expandVariable(v.Value, known)
	}
	names := make([]string, 0, len(specs))
	for n := range specs {
		names = append(names, n)
	}
	sort.Strings(names)
	s.nextID++
	now := time.Now()
	p := &pipeline{ID: s.nextID, project: pr, Ref: ref, Source: source, Token: token, SHA: sha, Variables: variables, Created: now, Updated: now}
	for _, n := range names {
		when := specs[n].decide(vars)
		if when == "" {
			continue
		}
		instances := []string{n}
		if k := specs[n].Parallel; k > 1 {
			instances = instances[:0]
			for i := 1; i <= k; i++ {
				instances = append(instances, fmt.Sprintf("%s %d/%d", n, i, k))
			}
		}
		for _, name := range instances {
			s.nextID++
			j := &job{ID: s.nextID, Name: name, Stage: specs[n].Stage, Status: "created", Pipeline: p, Created: time.Now(), spec: specs[n], vars: vars, cancel: make(chan struct{})}
			if specs[n].Trigger {
				p.bridges = append(p.bridges, j)
				continue
			}
			if when == "manual" {
				j.Status = "manual"
			}
			p.jobs = append(p.jobs, j)
		}
	}
	if len(p.jobs)+len(p.bridges) == 0 {
		return nil, "Pipeline will not run for the selected trigger. The rules configuration prevented any jobs from being added to the pipeline."
	}
	s.pipelines[p.ID] = p
	for _, j := range p.jobs {
		s.jobs[j.ID] = j
		s.deployLocked(j)
		if j.Status != "manual" {
			s.setStatus(j, "pending")
			go s.runJob(j)
		} else {
			s.hookLocked(j)
		}
	}
	return p, ""
}

// expandVariable expands a non-raw variable's value as GitLab does: $$
// is a literal $, $NAME and ${NAME} become the value of a variable the
// pipeline knows, and a reference to an unknown one is kept as written.
func expandVariable(value string, known map[string]string) string {
	isName := func(c byte) bool {
		return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	var b strings.Builder
	for i := 0; i < len(value); {
		c := value[i]
		if c != '$' || i+1 == len(value) {
			b.WriteByte(c)
			i++
			continue
		}
		switch next := value[i+1]; {
		case next == '$':
			b.WriteByte('$')
			i += 2
			continue
		case next == '{':
			if end := strings.IndexByte(value[i+2:], '}'); end >= 0 {
				if v, ok := known[value[i+2:i+2+end]]; ok {
					b.WriteString(v)
					i += end + 3
					continue
				}
			}
		case isName(next):
			j := i + 1
			for j < len(value) && isName(value[j]) {
				j++
			}
			if v, ok := known[value[i+1:j]]; ok {
				b.WriteString(v)
				i = j
				continue
			}
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}

// listPipelines filters (source, ref, updated_after, updated_before),
// orders (order_by id or updated_at, sort) and pages (page, per_page, with
// GitLab's X-Page, X-Next-Page, X-Per-Page and X-Total headers) as GitLab
// does.
func (s *Server) listPipelines(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	var after, before time.Time
	for key, t := range map[string]*time.Time{"updated_after": &after, "updated_before": &before} {
		if v := q.Get(key); v != "" {
			parsed, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				apiError(w, 400, key+" is invalid")
				return
			}
			*t = parsed
		}
	}
	var list []*pipeline
	pr := projectOf(r)
	for _, p := range s.pipelines {
		switch {
		case p.project != pr:
			continue
		case q.Get("source") != "" && q.Get("source") != p.Source,
			q.Get("ref") != "" && q.Get("ref") != p.Ref,
			!after.IsZero() && !p.Updated.After(after),
			!before.IsZero() && !p.Updated.Before(before):
			continue
		}
		list = append(list, p)
	}
	byUpdated := q.Get("order_by") == "updated_at"
	asc := q.Get("sort") == "asc"
	sort.Slice(list, func(a, b int) bool {
		x, y := list[a], list[b]
		less := x.ID < y.ID
		if byUpdated && !x.Updated.Equal(y.Updated) {
			less = x.Updated.Before(y.Updated)
		}
		return less == asc // GitLab's default: newest first
	})
	out := []map[string]any{}
	for _, p := range page(w, r, list) {
		out = append(out, s.pipelineJSON(p))
	}
	writeJSON(w, 200, out)
}

func (s *Server) lookupPipeline(w http.ResponseWriter, r *http.Request) *pipeline {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	p, ok := s.pipelines[id]
	if !ok || p.project != projectOf(r) {
		apiError(w, 404, "404 Not found")
		return nil
	}
	return p
}

func (s *Server) getPipeline(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.lookupPipeline(w, r); p != nil {
		writeJSON(w, 200, s.pipelineJSON(p))
	}
}

func (s *Server) pipelineVariables(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.lookupPipeline(w, r); p != nil {
		writeJSON(w, 200, p.Variables)
	}
}

// pipelineJobs lists the pipeline's jobs (not its trigger jobs, see
// pipelineBridges), filtered by scope[] and paged at per_page (at most
// 100, 20 by default) with GitLab's pagination headers, oldest first.
func (s *Server) pipelineJobs(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.lookupPipeline(w, r); p != nil {
		scope := r.URL.Query()["scope[]"]
		var list []*job
		for _, j := range p.jobs {
			if len(scope) == 0 || contains(scope, j.Status) {
				list = append(list, j)
			}
		}
		out := []map[string]any{}
		for _, j := range page(w, r, list) {
			out = append(out, s.jobJSON(j))
		}
		writeJSON(w, 200, out)
	}
}

// pipelineBridges lists the pipeline's trigger jobs, paged as
// pipelineJobs; their downstream pipeline is not modelled (null).
func (s *Server) pipelineBridges(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.lookupPipeline(w, r); p != nil {
		out := []map[string]any{}
		for _, j := range page(w, r, p.bridges) {
			m := s.jobJSON(j)
			m["downstream_pipeline"] = nil
			out = append(out, m)
		}
		writeJSON(w, 200, out)
	}
}

func (s *Server) cancelPipeline(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.lookupPipeline(w, r); p != nil {
		for _, j := range p.jobs {
			s.cancelLocked(j)
		}
		for _, b := range p.bridges {
			b.Status = "canceled"
		}
		writeJSON(w, 200, s.pipelineJSON(p))
	}
}
