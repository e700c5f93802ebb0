package gitlab

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/chatops-dev/chatops/gitlab/joblog"
)

// errTimedOut ends a wait after ReplyTimeout.
var errTimedOut = errors.New("timed out")

func finished(status string) bool {
	switch status {
	case "success", "failed", "canceled", "skipped":
		return true
	}
	return false
}

// waitJob polls the job until it finishes, calling changed on every status
// change. Transient errors (client-go has already retried them) are
// polled through until the deadline: the reply is owed either way.
func (s *Service) waitJob(ctx context.Context, p *project, jobID int64, deadline time.Time, changed func(*gl.Job)) (*gl.Job, error) {
	last := ""
	var job *gl.Job
	for {
		j, _, err := s.client.Jobs.GetJob(p.ID, jobID, gl.WithContext(ctx))
		switch {
		case err == nil:
			job = j
			if j.Status != last {
				last = j.Status
				changed(j)
			}
			if finished(j.Status) {
				return j, nil
			}
		case ctx.Err() != nil:
			return job, ctx.Err()
		case isPermanent(err):
			return job, fmt.Errorf("follow job %d: %w", jobID, err)
		default:
			s.log.Warn("polling the job failed; still waiting", "job", jobID, "err", err)
		}
		if time.Now().After(deadline) {
			return job, errTimedOut
		}
		// ±20% jitter keeps many runs from polling in lockstep.
		d := s.cfg.PollInterval
		d += time.Duration(rand.Int64N(int64(d)/5+1)) - d/10
		select {
		case <-ctx.Done():
			return job, ctx.Err()
		case <-time.After(min(d, time.Until(deadline)+time.Millisecond)):
		}
	}
}

// isPermanent reports a 4xx other than 429: polling again cannot help.
func isPermanent(err error) bool {
	st := statusOf(err)
	return st >= 400 && st < 500 && st != http.StatusTooManyRequests
}

// fetchLog streams the job log through the extractor: memory is bounded
// by MaxReplyBytes, however long the log. For a successful job whose
// sections are not complete yet, it re-reads for up to ExtractWait, as
// GitLab does (the log is flushed after the job's status changes).
func (s *Service) fetchLog(ctx context.Context, p *project, jobID int64, succeeded bool) (joblog.Result, error) {
	deadline := time.Now().Add(s.cfg.ExtractWait)
	for {
		e := joblog.NewExtractor(s.cfg.MaxReplyBytes, 15)
		req, err := s.client.NewRequest(http.MethodGet, fmt.Sprintf("projects/%d/jobs/%d/trace", p.ID, jobID), nil, []gl.RequestOptionFunc{gl.WithContext(ctx)})
		if err != nil {
			return joblog.Result{}, err
		}
		if _, err := s.client.Do(req, e); err != nil {
			return joblog.Result{}, fmt.Errorf("read the job log: %w", err)
		}
		r := e.Result()
		if r.Section != "" || !succeeded || time.Now().After(deadline) {
			return r, nil
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(min(2*time.Second, s.cfg.PollInterval)):
		}
	}
}
