package gitlab_test

// Review findings (branch review-gl): failing tests that show bugs.
// miniGitLab is a small GitLab double for the shapes the fake
// (gitlabtest) does not model: GET /pipelines/:id/jobs pages at most 100
// jobs (X-Next-Page), and trigger jobs are listed only by
// GET /pipelines/:id/bridges, as on GitLab.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/bottest"
	"github.com/chatops-dev/chatops/gitlab"
)

type miniJob struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
}

type miniGitLab struct {
	mu       sync.Mutex
	jobs     []miniJob // GET /pipelines/7/jobs
	bridges  []miniJob // GET /pipelines/7/bridges
	canceled bool
	// issues: a public project whose issues are for members only.
	issuesAccess string
}

func (m *miniGitLab) serve(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	writeJSON := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	paged := func(w http.ResponseWriter, r *http.Request, list []miniJob) {
		per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
		if per <= 0 {
			per = 20
		}
		per = min(per, 100) // GitLab's maximum
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		if page <= 0 {
			page = 1
		}
		lo, hi := min((page-1)*per, len(list)), min(page*per, len(list))
		w.Header().Set("X-Page", strconv.Itoa(page))
		w.Header().Set("X-Per-Page", strconv.Itoa(per))
		w.Header().Set("X-Total", strconv.Itoa(len(list)))
		w.Header().Set("X-Total-Pages", strconv.Itoa((len(list)+per-1)/per))
		if hi < len(list) {
			w.Header().Set("X-Next-Page", strconv.Itoa(page+1))
		} else {
			w.Header().Set("X-Next-Page", "")
		}
		out := list[lo:hi]
		if out == nil {
			out = []miniJob{}
		}
		writeJSON(w, 200, out)
	}
	mux.HandleFunc("POST /api/v4/projects/42/pipeline", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 201, map[string]any{"id": 7, "status": "created", "ref": "main", "web_url": "http://x/p/-/pipelines/7"})
	})
	mux.HandleFunc("GET /api/v4/projects/42/pipelines/7/jobs", func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		defer m.mu.Unlock()
		paged(w, r, m.jobs)
	})
	mux.HandleFunc("GET /api/v4/projects/42/pipelines/7/bridges", func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		defer m.mu.Unlock()
		paged(w, r, m.bridges)
	})
	mux.HandleFunc("POST /api/v4/projects/42/pipelines/7/cancel", func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.canceled = true
		m.mu.Unlock()
		writeJSON(w, 200, map[string]any{"id": 7, "status": "canceled"})
	})
	// Issues: project 42 is public, its issues feature is "private"
	// (Settings > General > Visibility: Issues = Only Project Members).
	mux.HandleFunc("GET /api/v4/projects/{pid}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"id": 42, "path_with_namespace": "g/p", "web_url": "http://x/g/p",
			"default_branch": "main", "visibility": "public", "issues_access_level": m.issuesAccess, "issues_enabled": m.issuesAccess != "disabled"})
	})
	mux.HandleFunc("GET /api/v4/users", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, []map[string]any{{"id": 5, "username": r.URL.Query().Get("username"), "state": "active"}})
	})
	mux.HandleFunc("GET /api/v4/projects/42/members/all/5", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 404, map[string]any{"message": "404 Not found"})
	})
	mux.HandleFunc("GET /api/v4/projects/42/issues/1", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"id": 900, "iid": 1, "project_id": 42, "title": "Internal: rotate the prod DB password",
			"description": "members only", "state": "opened", "confidential": false, "web_url": "http://x/g/p/-/issues/1"})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func miniService(t *testing.T, srv *httptest.Server) *gitlab.Service {
	t.Helper()
	svc, err := gitlab.New(gitlab.Config{URL: srv.URL, Token: "glpat-x", Project: "g/p", Logger: bottest.Quiet(),
		RetryBackoff: time.Millisecond, RequestTimeout: 5 * time.Second, Identities: map[string]string{"t:eve": "eve"}})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func miniPlan() gitlab.Plan {
	return gitlab.Plan{Job: "deploy", User: "alice", ProjectID: 42, Ref: "main", ChannelID: "C", UserID: "U"}
}

// TestCreateFindsAParallelJob: "deploy: parallel: 2" makes GitLab create
// "deploy 1/2" and "deploy 2/2"; no job is named exactly "deploy", so the
// pipeline is canceled and the user is told the rules do not select it.
func TestCreateFindsAParallelJob(t *testing.T) {
	m := &miniGitLab{jobs: []miniJob{{ID: 2000, Name: "deploy 1/2", Status: "pending"}, {ID: 2001, Name: "deploy 2/2", Status: "pending"}}}
	svc := miniService(t, m.serve(t))
	_, err := svc.Create(context.Background(), miniPlan(), "run-1", time.Now())
	var ref *bot.Refusal
	if errors.As(err, &ref) {
		t.Errorf("Create refused: %s: %s", ref.Title, ref.Text)
	}
	if m.canceled {
		t.Error("the pipeline running the parallel job was canceled")
	}
}
