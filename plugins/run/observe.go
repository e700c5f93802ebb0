package run

import (
	"time"

	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/store"
)

// Observer is told how runs go, for metrics (metrics.Metrics is one). Its
// methods must be cheap and never block. A nil Options.Observer observes
// nothing.
type Observer interface {
	// RunFollowed: this process took up a run of job (started here or
	// resumed from the store).
	RunFollowed(job string)
	// RunLeft: this process no longer follows the run (answered, given
	// up, or taken over by another process).
	RunLeft(job string)
	// RunAnswered: a run's final answer was posted. outcome is the job's
	// final GitLab status, "timeout" or "not_started"; ran is how long the
	// job ran and sinceDone how long after it finished the answer was
	// posted, each negative when unknown (after a restart).
	RunAnswered(job, outcome string, ran, sinceDone time.Duration)
}

// finish is what the watcher learnt when a run's job finished, kept until
// its answer is posted.
type finish struct {
	ran time.Duration
	at  time.Time
}

func (w *watcher) followed(r *store.Run) {
	if o := w.p.opts.Observer; o != nil {
		o.RunFollowed(r.Job)
	}
}

func (w *watcher) left(r *store.Run) {
	w.mu.Lock()
	delete(w.finished, r.ID)
	w.mu.Unlock()
	if o := w.p.opts.Observer; o != nil {
		o.RunLeft(r.Job)
	}
}

// jobFinished remembers when a run's job finished (GitLab's clock when it
// says, else now) and how long it ran.
func (w *watcher) jobFinished(r *store.Run, st gitlab.State) {
	if w.p.opts.Observer == nil {
		return
	}
	at := st.FinishedAt
	if at.IsZero() {
		at = time.Now()
	}
	w.mu.Lock()
	w.finished[r.ID] = finish{ran: st.Duration, at: at}
	w.mu.Unlock()
}

// answered reports a posted answer to the Observer.
func (w *watcher) answered(r *store.Run) {
	o := w.p.opts.Observer
	if o == nil {
		return
	}
	w.mu.Lock()
	f, ok := w.finished[r.ID]
	delete(w.finished, r.ID)
	w.mu.Unlock()
	ran, since := time.Duration(-1), time.Duration(-1)
	if ok {
		ran, since = f.ran, max(0, time.Since(f.at))
	}
	outcome := r.Status
	switch {
	case r.PipelineID == 0:
		outcome = "not_started"
	case !gitlab.Finished(r.Status):
		outcome = "timeout"
	}
	o.RunAnswered(r.Job, outcome, ran, since)
}

// audit writes the audit line for a pipeline this process created: who
// (chat identity and GitLab user), where, what, and the pipeline. The
// arguments are logged by length only: they may hold secrets.
func (w *watcher) audit(r *store.Run) {
	a := w.p.opts.Audit
	if a == nil || r.PipelineID == 0 {
		return
	}
	what := "pipeline created"
	if playsJob(r) {
		what = "job played" // a deploy: the pipeline existed
	}
	a.Info(what, "run", r.ID, "kind", r.Kind, "identity", r.Requester, "gitlab_user", r.GitLabUser,
		"platform", r.Platform, "channel", r.ChannelID, "project", r.Project, "ref", r.Ref, "job", r.Job,
		"args_bytes", len(r.Args), "pipeline", r.PipelineID, "pipeline_url", r.PipelineURL)
}
