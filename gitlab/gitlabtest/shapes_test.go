package gitlabtest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestShapesMatchGitLab compares the fake's answers with GitLab's
// documented response bodies in testdata/gitlab: every key the fake sends
// exists in GitLab's shape with the same JSON type, and the keys chatops
// reads are present.
func TestShapesMatchGitLab(t *testing.T) {
	s := New(Options{CIConfig: "hello:\n  rules:\n    - if: $CHATOPS_JOB == \"hello\"\n  script:\n    - echo hi\n" +
		"stage:\n  environment: staging\n  rules:\n    - if: $CI_PIPELINE_SOURCE == \"push\"\n  script:\n    - echo up\n" +
		"kept:\n  rules:\n    - if: $CHATOPS_JOB == \"kept\"\n  script:\n    - echo done > chat_reply.md\n  artifacts:\n    paths: [chat_reply.md]\n    expire_in: 1 day\n"})
	defer s.Close()
	uid := s.AddUser("alice", Developer)
	s.AddIssue(Issue{Title: "Broken", Description: "It is", Labels: []string{"bug"}, Author: "alice", Assignees: []string{"alice"}})
	s.Push("main")
	get := func(method, path string, body string) any {
		req, _ := http.NewRequest(method, s.URL()+"/api/v4"+path, strings.NewReader(body))
		req.Header.Set("Private-Token", s.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
		return v
	}
	pipeline := get("POST", "/projects/42/pipeline", `{"ref":"main","variables":[{"key":"CHATOPS_JOB","value":"hello","variable_type":"env_var"}]}`)
	pid := int(pipeline.(map[string]any)["id"].(float64))
	jobs := get("GET", "/projects/42/pipelines/"+itoa(pid)+"/jobs", "").([]any)
	jid := int(jobs[0].(map[string]any)["id"].(float64))
	kept := get("POST", "/projects/42/pipeline", `{"ref":"main","variables":[{"key":"CHATOPS_JOB","value":"kept","variable_type":"env_var"}]}`)
	keptJobs := get("GET", "/projects/42/pipelines/"+itoa(int(kept.(map[string]any)["id"].(float64)))+"/jobs", "").([]any)
	keptID := int(keptJobs[0].(map[string]any)["id"].(float64))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.WaitJobStatus(ctx, "kept", "success"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file string
		got  any
		need []string
	}{
		{"project.json", get("GET", "/projects/demo%2Fchatops", ""), []string{"id", "default_branch", "web_url", "path_with_namespace"}},
		{"branch.json", get("GET", "/projects/42/repository/branches/main", ""), []string{"name", "commit"}},
		{"lint.json", get("GET", "/projects/42/ci/lint?include_jobs=true", ""), []string{"valid", "errors", "merged_yaml"}},
		{"users.json", get("GET", "/users?username=alice", ""), []string{"id", "username", "state"}},
		{"member.json", get("GET", "/projects/42/members/all/"+itoa(int(uid)), ""), []string{"id", "access_level"}},
		{"pipeline.json", pipeline, []string{"id", "status", "web_url", "ref", "sha"}},
		{"pipeline_variables.json", get("GET", "/projects/42/pipelines/"+itoa(pid)+"/variables", ""), []string{"key", "value"}},
		{"job.json", get("GET", "/projects/42/jobs/"+itoa(jid), ""), []string{"id", "name", "status", "web_url", "duration", "pipeline"}},
		{"job_artifacts.json", get("GET", "/projects/42/jobs/"+itoa(keptID), ""), []string{"artifacts", "artifacts_file", "artifacts_expire_at"}},
		{"error_not_found.json", get("GET", "/projects/42/jobs/"+itoa(jid)+"/artifacts/chat_reply.md", ""), []string{"message"}},
		{"error_no_jobs.json", get("POST", "/projects/42/pipeline", `{"ref":"main"}`), []string{"message"}},
		{"issues.json", get("GET", "/projects/42/issues?search=broken", ""), []string{"iid", "title", "state", "description", "labels", "assignees", "author", "confidential", "web_url", "discussion_locked", "user_notes_count"}},
		{"issues.json", get("GET", "/projects/42/issues/1", ""), []string{"iid", "title", "state"}},
		{"issues.json", get("POST", "/projects/42/issues", `{"title":"New","description":"d"}`), []string{"iid", "web_url"}},
		{"issues.json", get("PUT", "/projects/42/issues/1", `{"state_event":"close"}`), []string{"iid", "state"}},
		{"note.json", get("POST", "/projects/42/issues/1/notes", `{"body":"hi"}`), []string{"id", "body"}},
		{"environments.json", get("GET", "/projects/42/environments", ""), []string{"id", "name"}},
		{"deployments.json", get("GET", "/projects/42/deployments?environment=staging", ""), []string{"id", "iid", "status", "ref", "sha", "deployable"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "gitlab", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var want any
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			if _, one := tt.got.(map[string]any); one {
				if list, ok := want.([]any); ok && len(list) > 0 {
					want = list[0] // a single item of a documented list
				}
			}
			subset(t, tt.file, tt.got, want)
			gotObj, wantObj := first(tt.got), first(want)
			for _, k := range tt.need {
				if _, ok := gotObj[k]; !ok {
					t.Errorf("the fake lacks %q", k)
				}
				if _, ok := wantObj[k]; !ok {
					t.Errorf("GitLab's shape lacks %q", k)
				}
			}
		})
	}
}

// subset fails when got has a key that want lacks, or a value of another
// JSON type (null in either is accepted: GitLab sends null for unset).
func subset(t *testing.T, path string, got, want any) {
	t.Helper()
	switch g := got.(type) {
	case map[string]any:
		w, ok := want.(map[string]any)
		if !ok {
			t.Errorf("%s: object where GitLab has %T", path, want)
			return
		}
		for k, v := range g {
			wv, ok := w[k]
			if !ok {
				t.Errorf("%s.%s: GitLab's response has no such key", path, k)
				continue
			}
			if v != nil && wv != nil {
				subset(t, path+"."+k, v, wv)
			}
		}
	case []any:
		w, ok := want.([]any)
		if !ok {
			t.Errorf("%s: array where GitLab has %T", path, want)
			return
		}
		if len(g) > 0 && len(w) > 0 {
			subset(t, path+"[0]", g[0], w[0])
		}
	default:
		if want != nil && got != nil && jsonType(got) != jsonType(want) {
			t.Errorf("%s: %T where GitLab has %T", path, got, want)
		}
	}
}

func jsonType(v any) string {
	switch v.(type) {
	case float64:
		return "number"
	case string:
		return "string"
	case bool:
		return "bool"
	}
	return "other"
}

func first(v any) map[string]any {
	if a, ok := v.([]any); ok && len(a) > 0 {
		v = a[0]
	}
	m, _ := v.(map[string]any)
	return m
}

func itoa(n int) string { return strconv.Itoa(n) }
