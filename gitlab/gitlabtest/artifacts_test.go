package gitlabtest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

const artifactsCI = `
kept:
  rules:
    - if: $CHATOPS_JOB == "kept"
  script:
    - printf '# Deployed\n\001\377 raw\n' > chat_reply.md
    - mkdir -p out/sub && echo one > out/a.txt && echo two > out/sub/b.txt
  artifacts:
    paths: [chat_reply.md, out, "../*", missing.md]
    expire_in: 1 day
plain:
  rules:
    - if: $CHATOPS_JOB == "plain"
  script:
    - echo no artifacts > chat_reply.md
onfailure:
  rules:
    - if: $CHATOPS_JOB == "onfailure"
  script:
    - echo x > chat_reply.md
  artifacts:
    paths: [chat_reply.md]
    when: on_failure
failing:
  rules:
    - if: $CHATOPS_JOB == "failing"
  script:
    - echo why > chat_reply.md
    - exit 2
  artifacts:
    paths: [chat_reply.md]
    when: always
nomatch:
  rules:
    - if: $CHATOPS_JOB == "nomatch"
  script:
    - "true"
  artifacts:
    paths: [chat_reply.md]
`

// runTo starts a pipeline for job and waits for its job to end as status;
// it returns the job's id.
func runTo(t *testing.T, s *Server, job, status string) int64 {
	t.Helper()
	body := `{"ref":"main","variables":[{"key":"CHATOPS_JOB","value":"` + job + `","variable_type":"env_var"}]}`
	resp := call(t, s, "POST", "/projects/42/pipeline", body)
	if resp.StatusCode != 201 {
		t.Fatalf("create %s: %d", job, resp.StatusCode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.WaitJobStatus(ctx, job, status); err != nil {
		t.Fatal(err)
	}
	for _, p := range s.Pipelines() {
		if p.Jobs[0] == job+":"+status {
			return p.JobIDs[0]
		}
	}
	t.Fatalf("no job %s", job)
	return 0
}

func call(t *testing.T, s *Server, method, path, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL()+"/api/v4"+path, strings.NewReader(body))
	req.Header.Set("Private-Token", s.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func readAll(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func jobArtifacts(t *testing.T, s *Server, id int64) (types []string, file map[string]any) {
	t.Helper()
	var j struct {
		Artifacts []struct {
			FileType string `json:"file_type"`
		} `json:"artifacts"`
		ArtifactsFile map[string]any `json:"artifacts_file"`
	}
	if err := json.Unmarshal([]byte(readAll(t, call(t, s, "GET", "/projects/42/jobs/"+itoa(int(id)), ""))), &j); err != nil {
		t.Fatal(err)
	}
	for _, a := range j.Artifacts {
		types = append(types, a.FileType)
	}
	return types, j.ArtifactsFile
}

func TestArtifactsAreKeptAndServedAsGitLabDoes(t *testing.T) {
	s := New(Options{CIConfig: artifactsCI})
	defer s.Close()
	id := runTo(t, s, "kept", "success")

	if got, want := s.ArtifactFiles("kept"), []string{"chat_reply.md", "out/a.txt", "out/sub/b.txt"}; !slices.Equal(got, want) {
		t.Errorf("archive holds %v, want %v (nothing outside the job's directory, nothing unmatched)", got, want)
	}
	types, file := jobArtifacts(t, s, id)
	if !slices.Equal(types, []string{"archive", "metadata", "trace"}) || file["filename"] != "artifacts.zip" {
		t.Errorf("job JSON: artifacts %v, artifacts_file %v", types, file)
	}

	resp := call(t, s, "GET", "/projects/42/jobs/"+itoa(int(id))+"/artifacts/chat_reply.md", "")
	if body := readAll(t, resp); resp.StatusCode != 200 || body != "# Deployed\n\001\377 raw\n" {
		t.Errorf("file: %d %q, want the raw bytes", resp.StatusCode, body)
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="chat_reply.md"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	resp = call(t, s, "GET", "/projects/42/jobs/"+itoa(int(id))+"/artifacts/out/sub/b.txt", "")
	if body := readAll(t, resp); resp.StatusCode != 200 || body != "two\n" {
		t.Errorf("nested file: %d %q", resp.StatusCode, body)
	}
	// Workhorse answers a file the archive lacks with Go's plain 404.
	resp = call(t, s, "GET", "/projects/42/jobs/"+itoa(int(id))+"/artifacts/missing.md", "")
	if body := readAll(t, resp); resp.StatusCode != 404 || body != "404 page not found\n" {
		t.Errorf("missing file: %d %q", resp.StatusCode, body)
	}

	logText := readAll(t, call(t, s, "GET", "/projects/42/jobs/"+itoa(int(id))+"/trace", ""))
	for _, want := range []string{"section_start:", ":upload_artifacts_on_success\r\x1b[0K", "chat_reply.md: found 1 matching artifact files and directories",
		"WARNING: missing.md: no matching files", `Uploading artifacts as "archive" to coordinator... 201 Created`} {
		if !strings.Contains(logText, want) {
			t.Errorf("log lacks %q:\n%s", want, logText)
		}
	}
	if i, j := strings.Index(logText, "upload_artifacts_on_success"), strings.Index(logText, "Job succeeded"); i < 0 || j < i {
		t.Errorf("artifacts must be uploaded before the job succeeds:\n%s", logText)
	}
}

func TestJobsWithoutAnArchive(t *testing.T) {
	tests := []struct {
		job, status string
		archive     bool
	}{
		{"plain", "success", false},     // no artifacts: keyword
		{"onfailure", "success", false}, // when: on_failure
		{"nomatch", "success", false},   // no file matched: nothing uploaded
		{"failing", "failed", true},     // when: always
	}
	s := New(Options{CIConfig: artifactsCI})
	defer s.Close()
	for _, tt := range tests {
		t.Run(tt.job, func(t *testing.T) {
			id := runTo(t, s, tt.job, tt.status)
			types, file := jobArtifacts(t, s, id)
			resp := call(t, s, "GET", "/projects/42/jobs/"+itoa(int(id))+"/artifacts/chat_reply.md", "")
			body := readAll(t, resp)
			if tt.archive {
				if file == nil || resp.StatusCode != 200 || body != "why\n" {
					t.Fatalf("artifacts_file %v, file %d %q", file, resp.StatusCode, body)
				}
				return
			}
			// The log, archived once the job finished, is a "trace"
			// artifact: artifacts is not empty, but there is no archive.
			if !slices.Equal(types, []string{"trace"}) || file != nil {
				t.Errorf("job JSON: artifacts %v, artifacts_file %v", types, file)
			}
			if resp.StatusCode != 404 || strings.TrimSpace(body) != `{"message":"404 Not Found"}` {
				t.Errorf("file of a job without archive: %d %q", resp.StatusCode, body)
			}
		})
	}
}

func TestExpiry(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	tests := map[string]time.Duration{
		"": 30 * day, "1 day": day, "2 days": 2 * day, "30 mins": 30 * time.Minute, "2 hrs 30 min": 150 * time.Minute,
		"1 week": 7 * day, "1h30m": 90 * time.Minute, "3 fortnights": 30 * day,
	}
	for in, want := range tests {
		if got := expiry(in, now).Sub(now); got != want {
			t.Errorf("expire_in %q: %v, want %v", in, got, want)
		}
	}
	if !expiry("never", now).IsZero() {
		t.Error("never must not expire")
	}
}
