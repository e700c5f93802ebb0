package gitlab

import (
	"crypto/subtle"
	"fmt"
	"io"
	"net/http"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/chatops-dev/chatops/bot/recent"
)

// HookEvent is what a Job or Pipeline Hook says about one pipeline: enough
// to wake the run that follows it. The watcher reads the job's state
// from the API itself, so a hook can only make an answer come sooner, never
// change what it says.
type HookEvent struct {
	ProjectID  int64
	PipelineID int64
	// JobID is set for Job Hooks.
	JobID int64
	// Status is the job's (Job Hook) or the pipeline's (Pipeline Hook).
	Status string
}

// maxHookBytes bounds a hook body; GitLab's payloads are a few KiB.
const maxHookBytes = 1 << 20

// HookHandler receives GitLab webhooks (Settings > Webhooks, events Job and
// Pipeline) at one path. It checks X-Gitlab-Token against secret in
// constant time (401 otherwise), drops repeated deliveries (the same
// X-Gitlab-Event-UUID), parses Job and Pipeline Hooks with client-go's own
// types (400 when malformed), answers 200 at once and hands the event to
// wake, which must not block. Other event types are accepted and ignored,
// so GitLab does not disable the hook.
func HookHandler(secret string, wake func(HookEvent)) http.Handler {
	seen := recent.New(1024)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		token := r.Header.Get("X-Gitlab-Token")
		if secret == "" || subtle.ConstantTimeCompare([]byte(token), []byte(secret)) != 1 {
			http.Error(w, "invalid X-Gitlab-Token", http.StatusUnauthorized)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxHookBytes))
		if err != nil {
			http.Error(w, "body too large or unreadable", http.StatusBadRequest)
			return
		}
		kind := gl.HookEventType(r)
		if kind != gl.EventTypeJob && kind != gl.EventTypePipeline {
			w.WriteHeader(http.StatusOK)
			return
		}
		ev, err := parseHook(kind, body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if id := r.Header.Get("X-Gitlab-Event-UUID"); id != "" && !seen.Add(string(kind)+"\x00"+id) {
			w.WriteHeader(http.StatusOK) // a retried delivery: already handled
			return
		}
		w.WriteHeader(http.StatusOK)
		wake(ev)
	})
}

func parseHook(kind gl.EventType, body []byte) (HookEvent, error) {
	raw, err := gl.ParseWebhook(kind, body)
	if err != nil {
		return HookEvent{}, fmt.Errorf("malformed %s: %w", kind, err)
	}
	switch e := raw.(type) {
	case *gl.JobEvent:
		if e.BuildID == 0 || e.PipelineID == 0 {
			return HookEvent{}, fmt.Errorf("malformed %s: no build_id or pipeline_id", kind)
		}
		return HookEvent{ProjectID: e.ProjectID, PipelineID: e.PipelineID, JobID: e.BuildID, Status: e.BuildStatus}, nil
	case *gl.PipelineEvent:
		if e.ObjectAttributes.ID == 0 {
			return HookEvent{}, fmt.Errorf("malformed %s: no object_attributes.id", kind)
		}
		return HookEvent{ProjectID: e.Project.ID, PipelineID: e.ObjectAttributes.ID, Status: e.ObjectAttributes.Status}, nil
	}
	return HookEvent{}, fmt.Errorf("unexpected %s payload", kind)
}
