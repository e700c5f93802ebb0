package gitlabtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"
)

// SetWebhook makes the fake send a Job Hook to url, with secret in
// X-Gitlab-Token, whenever a job changes status, as a project webhook with
// "Job events" does. Deliveries are asynchronous and not retried; their
// payloads follow GitLab's job event documentation.
func (s *Server) SetWebhook(url, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hookURL, s.hookSecret = url, secret
}

// HookDeliveries counts the webhook requests the fake has sent.
func (s *Server) HookDeliveries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hooksSent
}

// JobHook is the Job Hook payload for the newest job named name, with its
// headers, for tests that deliver (or forge, or replay) hooks themselves.
func (s *Server) JobHook(name string) (body []byte, eventUUID string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	newest := s.newestJobLocked(name)
	if newest == nil {
		return nil, "", false
	}
	body, _ = json.Marshal(s.jobHookPayload(newest))
	return body, newUUID(), true
}

// hookLocked sends j's Job Hook (s.mu held) if a webhook is set.
func (s *Server) hookLocked(j *job) {
	if s.hookURL == "" || s.closed {
		return
	}
	s.hooksSent++
	body, _ := json.Marshal(s.jobHookPayload(j))
	url, secret := s.hookURL, s.hookSecret
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Gitlab-Event", "Job Hook")
		req.Header.Set("X-Gitlab-Token", secret)
		req.Header.Set("X-Gitlab-Event-UUID", newUUID())
		req.Header.Set("User-Agent", "GitLab/17.5.0")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
}

func (s *Server) jobHookPayload(j *job) map[string]any {
	var duration any
	if !j.Started.IsZero() {
		end := j.Finished
		if end.IsZero() {
			end = time.Now()
		}
		duration = end.Sub(j.Started).Seconds()
	}
	pr := j.Pipeline.project
	name := pr.path
	return map[string]any{
		"object_kind": "build", "ref": j.Pipeline.Ref, "tag": pr.tags[j.Pipeline.Ref], "before_sha": "0000000000000000000000000000000000000000",
		"sha": j.Pipeline.SHA, "build_id": j.ID, "build_name": j.Name, "build_stage": j.Stage, "build_status": j.Status,
		"build_created_at": timeRFC(j.Created), "build_started_at": timeRFC(j.Started), "build_finished_at": timeRFC(j.Finished),
		"build_duration": duration, "build_queued_duration": 0.1, "build_allow_failure": false, "build_failure_reason": "unknown_failure",
		"retries_count": 0, "pipeline_id": j.Pipeline.ID, "project_id": pr.id, "project_name": name,
		"user":        map[string]any{"id": 1, "name": "chatops bot", "username": "chatops-bot", "email": "[REDACTED]"},
		"commit":      map[string]any{"id": j.Pipeline.ID, "name": nil, "sha": j.Pipeline.SHA, "message": "Update .gitlab-ci.yml", "status": j.Pipeline.status()},
		"repository":  map[string]any{"name": name, "url": s.webURL(pr) + ".git", "homepage": s.webURL(pr), "visibility_level": 0},
		"environment": nil,
	}
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
