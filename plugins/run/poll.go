package run

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/store"
)

// Polling: one request per project lists the pipelines that changed;
// what it says of each followed run.

type pollResult struct {
	project int64
	changes []gitlab.PipelineChange
	now     time.Time
	err     error
}

// poll lists each project's recently updated pipelines, one request per
// project, for the projects that have runs being followed.
func (w *watcher) poll(ctx context.Context, tasks *sync.WaitGroup, polled chan<- pollResult) {
	projects := map[int64]GitLab{}
	for _, t := range w.runs {
		if t.run.Phase == store.PhaseFollowing {
			if proj := w.p.projects.forRun(t.run); proj != nil {
				projects[t.run.ProjectID] = proj.GitLab
			}
		}
	}
	for pid, gl := range projects {
		if w.polling[pid] {
			continue
		}
		w.polling[pid] = true
		since := w.since[pid]
		tasks.Go(func() {
			changes, now, err := gl.UpdatedPipelines(ctx, pid, since)
			select {
			case polled <- pollResult{project: pid, changes: changes, now: now, err: err}:
			case <-ctx.Done():
			}
		})
	}
}

// polledProject marks the runs whose pipelines changed.
func (w *watcher) polledProject(r pollResult) {
	if r.err != nil {
		w.log.Warn("polling GitLab failed; will try again", "project", r.project, "err", r.err)
		return
	}
	// The next poll overlaps this one: updates are recognised by value,
	// so seeing one twice costs nothing, and none falls between polls.
	w.since[r.project] = r.now.Add(-2*w.interval() - 5*time.Second)
	for _, c := range r.changes {
		t := w.byPipeline[c.ID]
		if t == nil || (c.Status == t.pipelineStatus && c.UpdatedAt.Equal(t.pipelineUpdated)) {
			continue
		}
		t.pipelineStatus, t.pipelineUpdated = c.Status, c.UpdatedAt
		w.learnt(t, c.Status)
	}
}

// learnt takes a status GitLab reported for t's pipeline or its job,
// from a poll or a webhook. While it is in progress it is only shown (the
// one-job pipeline's status is the job's), without reading the job; any
// other status (finished, manual, blocked) needs the job read.
//
// Progress only moves forward: webhooks arrive in any order, and a late
// "pending" must not turn a running job's reply back.
func (w *watcher) learnt(t *tracked, status string) {
	switch {
	case !inProgress(status):
		t.due = true
	case progressRank(status) > progressRank(t.run.Status) && progressRank(status) > progressRank(t.hint):
		t.hint = status
	}
}

// progressOrder is the order a job goes through before it ends.
var progressOrder = []string{"created", "waiting_for_resource", "preparing", "pending", "running"}

// progressRank places status in progressOrder: 0 for none of them, so
// any progress moves on from "" (not known yet).
func progressRank(status string) int { return slices.Index(progressOrder, status) + 1 }

// inProgress reports whether a pipeline or job status is one the job
// only waits or runs in: nothing to read yet. "" (a relayed hook) is not.
func inProgress(status string) bool { return progressRank(status) > 0 }

func jitter(d time.Duration) time.Duration {
	// ±10% keeps replicas and restarts from polling in lockstep.
	return d + time.Duration(rand.Int64N(int64(d)/5+1)) - d/10
}
