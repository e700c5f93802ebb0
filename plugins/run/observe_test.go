package run_test

import (
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/bottest"
)

// recorder is a run.Observer that keeps what it was told.
type recorder struct {
	mu       sync.Mutex
	open     int
	answered []string
	ran      time.Duration
	since    time.Duration
}

func (r *recorder) RunFollowed(string) { r.mu.Lock(); r.open++; r.mu.Unlock() }
func (r *recorder) RunLeft(string)     { r.mu.Lock(); r.open--; r.mu.Unlock() }
func (r *recorder) RunAnswered(job, outcome string, ran, since time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answered = append(r.answered, job+":"+outcome)
	r.ran, r.since = ran, since
}

func TestObserverAndAuditLine(t *testing.T) {
	rec := &recorder{}
	var audit bottest.Buffer
	e := newEnv(t, func(c *config) {
		c.run.Observer = rec
		c.run.Audit = slog.New(slog.NewTextHandler(&audit, nil)).With("logger", "audit")
	})
	if r, _ := e.say("U-alice", "C1", "run fail"); r.Status != bot.StatusFailure {
		t.Fatalf("reply %+v", r)
	}
	// The observer hears of the answer once its delivery returned, just
	// after the chat showed it.
	var answered []string
	var ran, since time.Duration
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		rec.mu.Lock()
		answered, ran, since = rec.answered, rec.ran, rec.since
		rec.mu.Unlock()
		if len(answered) > 0 {
			break
		}
	}
	if len(answered) != 1 || answered[0] != "fail:failed" || ran < 0 || since < 0 {
		t.Fatalf("observer got %v ran %v since %v", answered, ran, since)
	}
	line := audit.String()
	for _, want := range []string{"logger=audit", `msg="pipeline created"`, "identity=test:U-alice", "gitlab_user=alice",
		"platform=test", "channel=C1", "job=fail", "pipeline_url=http", "run="} {
		if !strings.Contains(line, want) {
			t.Errorf("audit line lacks %q:\n%s", want, line)
		}
	}
	if n := strings.Count(line, "\n"); n != 1 {
		t.Errorf("%d audit lines, want 1", n)
	}
}
