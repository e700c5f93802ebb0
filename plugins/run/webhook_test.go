package run_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/store"
)

const hookSecret = "hook-secret"

// hookEnv is an env whose watcher is woken by webhooks, with a backup
// poll far longer than any test: an answer that comes quickly came from a
// hook.
func hookEnv(t *testing.T) (*env, *httptest.Server) {
	t.Helper()
	e := newEnv(t, func(c *config) {
		c.run.Webhooks = true
		c.run.HookPollInterval = 10 * time.Second
		c.run.PollInterval = 10 * time.Second
	})
	srv := httptest.NewServer(gitlab.HookHandler(hookSecret, e.plugin.Hook))
	t.Cleanup(srv.Close)
	return e, srv
}

// postHook delivers a hook body and returns the status.
func postHook(t *testing.T, url, token, uuid string, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Gitlab-Event", "Job Hook")
	req.Header.Set("X-Gitlab-Token", token)
	if uuid != "" {
		req.Header.Set("X-Gitlab-Event-UUID", uuid)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// startBlocked starts `run slow` (kept running by the fake) and waits
// until the watcher follows it: the handler is done with GitLab and has
// handed the run over.
func startBlocked(t *testing.T, e *env) {
	t.Helper()
	e.gl.Block("slow")
	e.chat.Say("U-alice", "C1", "run slow")
	deadline := time.Now().Add(10 * time.Second)
	for len(e.gl.Pipelines()) == 0 || len(e.chat.Messages("C1")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the run never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The handler hands the run over once it has saved it "following".
	id := e.gl.Pipelines()[0].Variables["CHATOPS_RUN_ID"]
	for {
		r, err := e.store.GetRun(context.Background(), id)
		if err == nil && r.Phase == store.PhaseFollowing {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run was never followed: %+v, %v", r, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
}

// finishedHook is a Job Hook body saying the job succeeded: a hook the
// watcher must read the job for (one saying "running" costs no read).
func finishedHook(t *testing.T, body []byte) []byte {
	t.Helper()
	out := bytes.Replace(body, []byte(`"build_status":"running"`), []byte(`"build_status":"success"`), 1)
	if bytes.Equal(out, body) {
		t.Fatalf("no running build_status in %s", body)
	}
	return out
}

// jobReads counts the watcher's reads of a job's state.
func jobReads(e *env) int {
	n := 0
	for _, r := range e.gl.Requests() {
		if r.Method == "GET" && strings.HasPrefix(r.Path, "/projects/42/jobs/") && !strings.HasSuffix(r.Path, "/trace") {
			n++
		}
	}
	return n
}

func TestWebhookAnswersWellWithinAPollInterval(t *testing.T) {
	e, srv := hookEnv(t)
	e.gl.SetWebhook(srv.URL, hookSecret)
	startBlocked(t, e)
	finished := time.Now()
	e.gl.Unblock("slow")
	r, _, ok := e.chat.WaitFinal("C1", 5*time.Second)
	if !ok {
		t.Fatalf("no answer within 5s, with a poll interval of 10s: the hook did not wake the watcher (%d hooks sent)", e.gl.HookDeliveries())
	}
	// Within 5 s (WaitFinal) of the job finishing, where the next poll
	// is 10 s away: the hook woke the watcher. How much faster is the
	// benchmark's to say; a tighter bound here would test the machine.
	if r.Status != bot.StatusSuccess {
		t.Fatalf("answer %q %v after the job finished, want success", r.Title, time.Since(finished))
	}
}

func TestWebhookWithAWrongTokenIsRefused(t *testing.T) {
	e, srv := hookEnv(t)
	startBlocked(t, e)
	body, uuid, ok := e.gl.JobHook("slow")
	if !ok {
		t.Fatal("no job")
	}
	body = finishedHook(t, body)
	before := len(e.gl.Requests())
	for _, token := range []string{"", "wrong", hookSecret + "x"} {
		if code := postHook(t, srv.URL, token, uuid, body); code != http.StatusUnauthorized {
			t.Fatalf("token %q: status %d, want 401", token, code)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if after := len(e.gl.Requests()); after != before {
		t.Fatalf("%d GitLab requests after refused hooks", after-before)
	}
	// The same hook with the right token does wake the watcher: the
	// check above could have failed.
	if code := postHook(t, srv.URL, hookSecret, uuid, body); code != http.StatusOK {
		t.Fatalf("status %d with the right token", code)
	}
	waitUntil(t, func() bool { return jobReads(e) == 1 })
}

func TestWebhookForAnUnknownPipelineIsIgnored(t *testing.T) {
	e, srv := hookEnv(t)
	startBlocked(t, e)
	body, _, _ := e.gl.JobHook("slow")
	pid := e.gl.Pipelines()[0].ID
	for _, unknown := range []string{`"pipeline_id":999999`} {
		forged := bytes.Replace(body, []byte(`"pipeline_id":`+itoa(pid)), []byte(unknown), 1)
		if bytes.Equal(forged, body) {
			t.Fatalf("pipeline_id not found in %s", body)
		}
		before := len(e.gl.Requests())
		if code := postHook(t, srv.URL, hookSecret, "", forged); code != http.StatusOK {
			t.Fatalf("status %d, want 200 (GitLab disables hooks that fail)", code)
		}
		time.Sleep(200 * time.Millisecond)
		if after := len(e.gl.Requests()); after != before {
			t.Fatalf("%d GitLab requests for a pipeline no run follows", after-before)
		}
	}
	if r := e.chat.Messages("C1"); r[len(r)-1].Status != bot.StatusWorking {
		t.Fatalf("the run changed: %+v", r)
	}
}

func TestWebhookReplayedIsDropped(t *testing.T) {
	e, srv := hookEnv(t)
	startBlocked(t, e)
	body, uuid, _ := e.gl.JobHook("slow")
	body = finishedHook(t, body)
	if code := postHook(t, srv.URL, hookSecret, uuid, body); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	waitUntil(t, func() bool { return jobReads(e) == 1 })
	for range 3 {
		if code := postHook(t, srv.URL, hookSecret, uuid, body); code != http.StatusOK {
			t.Fatalf("replay: status %d, want 200", code)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if n := jobReads(e); n != 1 {
		t.Fatalf("%d job reads after replaying one hook, want 1", n)
	}
	// A new delivery (another uuid) is not a replay.
	if code := postHook(t, srv.URL, hookSecret, "another-uuid", body); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	waitUntil(t, func() bool { return jobReads(e) == 2 })
}

func TestWebhookMalformedIsRejected(t *testing.T) {
	e, srv := hookEnv(t)
	startBlocked(t, e)
	before := len(e.gl.Requests())
	for _, body := range []string{`{`, `[]`, `{"object_kind":"build"}`, `{"object_kind":"build","build_id":"x"}`} {
		if code := postHook(t, srv.URL, hookSecret, "", []byte(body)); code != http.StatusBadRequest {
			t.Errorf("body %s: status %d, want 400", body, code)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if after := len(e.gl.Requests()); after != before {
		t.Fatalf("%d GitLab requests after malformed hooks", after-before)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A quick job's hooks may all arrive before the handler has handed its run
// to the watcher; the answer must not wait for the backup poll.
func TestWebhookBeforeTheRunIsFollowed(t *testing.T) {
	e, srv := hookEnv(t)
	e.gl.SetWebhook(srv.URL, hookSecret)
	// The handler's read of the new pipeline's jobs is answered only once
	// the job has finished and its hooks have been delivered.
	hold := e.gl.HoldAfterWork("GET", "/projects/42/pipelines/", 1)
	start := time.Now()
	e.chat.Say("U-alice", "C1", "run hello-world")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hold.Wait(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := e.gl.WaitJobStatus(ctx, "hello-world", "success"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the hooks arrive
	hold.Release()
	r, _, ok := e.chat.WaitFinal("C1", 5*time.Second)
	if !ok || r.Status != bot.StatusSuccess {
		t.Fatalf("no answer within 5s (poll interval 10s): answered %v, %+v", ok, r)
	}
	if took := time.Since(start); took > 6*time.Second {
		t.Fatalf("answered after %v: that is the 10 s poll's doing, not the hooks'", took)
	}
}

// A hook saying the job waits or runs is progress: shown without reading
// the job, whether it arrives while the run is followed or before (kept
// with its status, and relayed through the store with it). Only a hook
// saying something else costs a read.
func TestWebhookInProgressCostsNoJobRead(t *testing.T) {
	e, srv := hookEnv(t)
	e.gl.SetWebhook(srv.URL, hookSecret)
	e.gl.Block("slow")
	// The handler's read of the new pipeline's jobs waits until the job's
	// pending and running hooks have arrived: they come before the run is
	// followed.
	hold := e.gl.HoldAfterWork("GET", "/projects/42/pipelines/", 1)
	e.chat.Say("U-alice", "C1", "run slow")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hold.Wait(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := e.gl.WaitJobStatus(ctx, "slow", "running"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { return e.gl.HookDeliveries() >= 2 })
	time.Sleep(100 * time.Millisecond) // the hooks are handled
	hold.Release()
	waitUntil(t, func() bool {
		m := e.chat.Messages("C1")
		return len(m) > 0 && strings.Contains(m[len(m)-1].Title, "running")
	})
	body, uuid, ok := e.gl.JobHook("slow")
	if !ok {
		t.Fatal("no job")
	}
	if code := postHook(t, srv.URL, hookSecret, uuid+"-again", body); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	// Hooks come in any order: a late "pending" does not turn the reply
	// back.
	late := bytes.Replace(body, []byte(`"build_status":"running"`), []byte(`"build_status":"pending"`), 1)
	if code := postHook(t, srv.URL, hookSecret, uuid+"-late", late); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	time.Sleep(300 * time.Millisecond)
	if m := e.chat.Messages("C1"); !strings.Contains(m[len(m)-1].Title, "running") {
		t.Fatalf("after a late pending hook the reply says %q", m[len(m)-1].Title)
	}
	if n := jobReads(e); n != 0 {
		t.Fatalf("%d job reads for hooks that only said pending and running, want 0", n)
	}
	if code := postHook(t, srv.URL, hookSecret, uuid+"-done", finishedHook(t, body)); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	waitUntil(t, func() bool { return jobReads(e) == 1 })
}
