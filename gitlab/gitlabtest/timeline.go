package gitlabtest

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"
)

func (s *Server) cancelLocked(j *job) {
	switch j.Status {
	case "success", "failed", "canceled":
		return
	}
	j.Finished = time.Now()
	s.setStatus(j, "canceled")
	j.once.Do(func() { close(j.cancel) })
	s.notify()
}

// CancelJob cancels the newest job with this name, as a user clicking
// Cancel in GitLab would.
func (s *Server) CancelJob(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	newest := s.newestJobLocked(name)
	if newest != nil {
		s.cancelLocked(newest)
	}
}

// SetTraceSource makes the log of jobs named name come from src (called
// per request) instead of the script's output: for huge logs.
func (s *Server) SetTraceSource(name string, src func() io.Reader) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.traceSources = append(s.traceSources, traceSource{name, src})
}

type traceSource struct {
	name string
	src  func() io.Reader
}

// WaitJobStatus waits until the newest job named name has the status.
func (s *Server) WaitJobStatus(ctx context.Context, name, status string) error {
	for {
		s.mu.Lock()
		newest := s.newestJobLocked(name)
		ch := s.jobChanged
		ok := newest != nil && newest.Status == status
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("job %s never reached %s: %w", name, status, ctx.Err())
		}
	}
}

// setStatus moves a job (s.mu held), its pipeline's updated_at with it,
// and sends the Job Hook when a webhook is set.
func (s *Server) setStatus(j *job, status string) {
	j.Status = status
	now := time.Now()
	if !now.After(j.Pipeline.Updated) {
		now = j.Pipeline.Updated.Add(time.Millisecond) // GitLab's clock has ms precision
	}
	j.Pipeline.Updated = now
	s.syncDeploymentLocked(j)
	s.hookLocked(j)
}

func (s *Server) notify() {
	close(s.jobChanged)
	s.jobChanged = make(chan struct{})
}

// runJob plays a job's timeline: pending, running (script lines run one by
// one, the log growing), then success or failed; a blocked job stays
// running until canceled or unblocked.
func (s *Server) runJob(j *job) {
	s.mu.Lock()
	if s.closed || j.Status != "pending" {
		s.mu.Unlock()
		return
	}
	j.Started = time.Now()
	s.setStatus(j, "running")
	j.trace.WriteString(logHeader(j.ID))
	blocked := s.blocked[j.Name]
	for _, ts := range s.traceSources {
		if ts.name == j.Name {
			j.source = ts.src
		}
	}
	env := append(os.Environ(), "CI=true", "GITLAB_CI=true", fmt.Sprintf("CI_JOB_ID=%d", j.ID), "CI_JOB_NAME="+j.Name)
	for k, v := range j.vars {
		env = append(env, k+"="+v)
	}
	s.notify()
	s.mu.Unlock()

	dir, err := os.MkdirTemp("", "gitlabtest-job-")
	if err == nil {
		defer os.RemoveAll(dir)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-j.cancel:
			cancel()
		case <-ctx.Done():
		}
	}()
	exit := 0
	for _, line := range j.spec.Script {
		out, code := s.exec(ctx, dir, env, line)
		s.mu.Lock()
		j.trace.WriteString(commandEcho(line) + out)
		s.mu.Unlock()
		if code != 0 {
			exit = code
			break
		}
	}
	if blocked != nil {
		select {
		case <-j.cancel:
		case <-blocked:
		}
	}
	// The runner uploads artifacts after the script and before it reports
	// the job's result: a finished job's archive is already there.
	var kept *archive
	var upload string
	if dir != "" {
		kept, upload = collectArtifacts(dir, j.spec.Artifacts, j.ID, exit == 0)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if j.Status == "canceled" {
		return
	}
	j.trace.WriteString(sectionEnd("step_script"))
	j.trace.WriteString(upload)
	j.archive = kept
	j.Finished = time.Now()
	if exit != 0 {
		s.setStatus(j, "failed")
		j.trace.WriteString(fmt.Sprintf("\x1b[31;1mERROR: Job failed: exit code %d%s\n", exit, ansiReset))
	} else {
		s.setStatus(j, "success")
		j.trace.WriteString("\x1b[32;1mJob succeeded" + ansiReset + "\n")
	}
	s.notify()
}

// newestJobLocked is the newest job named name, nil when there is none;
// s.mu must be held.
func (s *Server) newestJobLocked(name string) *job {
	var newest *job
	for _, j := range s.jobs {
		if j.Name == name && (newest == nil || j.ID > newest.ID) {
			newest = j
		}
	}
	return newest
}
