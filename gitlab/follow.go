package gitlab

import (
	"context"
	"fmt"
	"net/http"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/chatops-dev/chatops/gitlab/joblog"
)

// PipelineChange is a pipeline GitLab reports as updated.
type PipelineChange struct {
	ID        int64
	Status    string
	UpdatedAt time.Time
}

// UpdatedPipelines returns the project's pipelines updated after since,
// newest first, in one request per 100 changed pipelines: following any
// number of runs costs O(projects) requests per tick, not O(runs). It also
// returns GitLab's own clock (the response's Date header, else the newest
// update seen), so the next call's since comes from GitLab's clock rather
// than the bot's. Pipelines of every source are listed: a run's pipeline
// was created through the API, but a deploy follows a job of a push
// pipeline.
func (s *Service) UpdatedPipelines(ctx context.Context, projectID int64, since time.Time) ([]PipelineChange, time.Time, error) {
	opts := &gl.ListProjectPipelinesOptions{
		UpdatedAfter: gl.Ptr(since), OrderBy: gl.Ptr("updated_at"), Sort: gl.Ptr("desc"),
		ListOptions: gl.ListOptions{PerPage: 100},
	}
	ctx, cancel := s.bound(ctx, 2)
	defer cancel()
	var out []PipelineChange
	now := since
	for page := 1; page <= maxPages; page++ {
		opts.Page = int64(page)
		list, resp, err := s.client.Pipelines.ListProjectPipelines(projectID, opts, gl.WithContext(ctx))
		if err != nil {
			return nil, since, fmt.Errorf("list pipelines updated since %s: %w", since.Format(time.RFC3339), err)
		}
		if resp != nil {
			if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil && d.After(now) {
				now = d
			}
		}
		for _, p := range list {
			c := PipelineChange{ID: p.ID, Status: p.Status}
			if p.UpdatedAt != nil {
				c.UpdatedAt = *p.UpdatedAt
				if c.UpdatedAt.After(now) {
					now = c.UpdatedAt
				}
			}
			out = append(out, c)
		}
		if resp == nil || resp.NextPage == 0 {
			break
		}
	}
	return out, now, nil
}

// Job returns the job's status and duration, and whether it kept
// artifacts.
func (s *Service) Job(ctx context.Context, projectID, jobID int64) (State, error) {
	ctx, cancel := s.bound(ctx, 1)
	defer cancel()
	j, _, err := s.client.Jobs.GetJob(projectID, jobID, gl.WithContext(ctx))
	if err != nil {
		return State{}, fmt.Errorf("read job %d: %w", jobID, err)
	}
	st := State{JobID: j.ID, JobURL: j.WebURL, Status: j.Status, Duration: time.Duration(j.Duration * float64(time.Second))}
	if j.Pipeline.ID != 0 {
		st.PipelineID = j.Pipeline.ID
	}
	if j.FinishedAt != nil {
		st.FinishedAt = *j.FinishedAt
	}
	st.HasArtifacts = hasArchive(j)
	return st, nil
}

// hasArchive reports a job whose artifacts archive can be downloaded.
// GitLab sends artifacts_file only then (job.artifacts?), and lists the
// archive among artifacts, which also holds the archived log ("trace") of
// every finished job: only an "archive" entry counts. artifacts_file is
// kept by GitLab for compatibility until API v5, so either one is enough.
func hasArchive(j *gl.Job) bool {
	if j.ArtifactsFile.Filename != "" {
		return true
	}
	for _, a := range j.Artifacts {
		if a.FileType == "archive" {
			return true
		}
	}
	return false
}

// IsPermanent reports an error that asking again cannot fix: a 4xx other
// than 429 (the job or project is gone, the token lost its rights).
func IsPermanent(err error) bool {
	st := statusOf(err)
	return st >= 400 && st < 500 && st != http.StatusTooManyRequests
}

// FetchLog streams the job log through the extractor: memory is bounded
// by MaxReplyBytes, however long the log. For a successful job whose
// sections are not complete yet it re-reads, as GitLab does (the log is
// flushed after the job's status changes), but with growing waits, only
// while the log is still growing, and for at most ExtractWait: a log GitLab
// cut at its size limit never completes.
func (s *Service) FetchLog(ctx context.Context, projectID, jobID int64, succeeded bool) (joblog.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ExtractWait+s.cfg.RequestTimeout)
	defer cancel()
	deadline := time.Now().Add(s.cfg.ExtractWait)
	wait := s.cfg.ExtractInterval
	lastSize := int64(-1)
	for {
		e := joblog.NewExtractor(s.cfg.MaxReplyBytes, 15)
		req, err := s.client.NewRequest(http.MethodGet, fmt.Sprintf("projects/%d/jobs/%d/trace", projectID, jobID), nil, []gl.RequestOptionFunc{gl.WithContext(ctx)})
		if err != nil {
			return joblog.Result{}, err
		}
		if _, err := s.client.Do(req, e); err != nil {
			return joblog.Result{}, fmt.Errorf("read the job log: %w", err)
		}
		r := e.Result()
		if r.Section != "" || !succeeded || time.Now().Add(wait).After(deadline) || r.LogBytes == lastSize {
			return r, nil
		}
		lastSize = r.LogBytes
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}
