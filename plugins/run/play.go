package run

import (
	"context"
	"fmt"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/store"
)

// Play is a manual job that another plugin (deploy) wants GitLab to play
// and the run plugin to follow like a run: one progress reply, the
// outcome edited into it, all stored so a restart resumes it. The job
// already exists: no pipeline is created.
type Play struct {
	// Kind names the command ("deploy"); it is stored with the run and
	// must not be "run".
	Kind string
	// Project is the project's Path as configured.
	Project   string
	ProjectID int64
	// Ref is what the job deploys (shown with the job's name).
	Ref string
	// Job is the job's name, JobID its id.
	Job         string
	JobID       int64
	JobURL      string
	PipelineID  int64
	PipelineURL string
	// User is the GitLab username the chat user maps to.
	User string
	// Notes are shown in the run's replies (what goes where).
	Notes []string
}

// StartPlay records the play as a run, plays the job and hands the run
// to the watcher; it returns once GitLab has answered the play. The run
// is recorded before the play: a process that dies in between is resumed
// by reading the job, which is played only if it still waits (see
// resumePlay), so a crash never plays it twice.
func (p *Plugin) StartPlay(ctx context.Context, w bot.Responder, m bot.Message, pl Play) error {
	proj := p.projects.Named(pl.Project)
	switch {
	case proj == nil:
		return fmt.Errorf("run: play in project %s, which is not configured", pl.Project)
	case pl.Kind == "" || pl.Kind == "run" || pl.JobID == 0:
		return fmt.Errorf("run: a play needs a kind other than run and a job id (got %q, %d)", pl.Kind, pl.JobID)
	}
	if err := p.admitPlay(ctx, m, proj, pl.Job); err != nil {
		return err
	}
	run := &store.Run{
		ID: newRunID(), Kind: pl.Kind, Platform: m.Platform,
		Requester: m.Identity(), UserID: m.Sender.ID, GitLabUser: pl.User,
		Project: proj.Path, ProjectID: pl.ProjectID, Ref: pl.Ref, Job: pl.Job,
		PipelineID: pl.PipelineID, PipelineURL: pl.PipelineURL, JobID: pl.JobID, JobURL: pl.JobURL,
		Status: "manual", Notes: append([]string(nil), pl.Notes...),
		Phase: store.PhaseCreating, Deadline: time.Now().Add(p.opts.ReplyTimeout),
	}
	setConversation(run, m.Conversation)
	p.hold(run.ID, true)
	defer p.hold(run.ID, false)
	if err := p.record(ctx, w, run); err != nil {
		return err
	}
	bot.Logger(ctx).Info("play recorded", "run", run.ID, "kind", pl.Kind, "job", pl.Job, "job_id", pl.JobID, "project", proj.Path)
	st, err := proj.GitLab.Play(ctx, pl.ProjectID, pl.JobID)
	p.proceed(ctx, w, run, st, err)
	return nil
}

// playsJob reports a run that plays an existing job (StartPlay) rather
// than creating a pipeline.
func playsJob(r *store.Run) bool { return r.Kind != "run" && r.JobID != 0 }

// resumePlay takes up a play whose process died between recording it and
// hearing GitLab's answer. The job is read first: still manual, it was
// not played, and is played now (if the request is recent enough);
// anything else means it was played, and it is followed.
func (w *watcher) resumePlay(ctx context.Context, gl GitLab, run *store.Run) {
	st, err := gl.Job(ctx, run.ProjectID, run.JobID)
	if ctx.Err() != nil {
		return
	}
	switch {
	case err != nil && !gitlab.IsPermanent(err):
		if time.Now().After(run.Deadline) {
			// GitLab has not said for the whole run's time whether the
			// job was played: say so once rather than retry for ever.
			setAnswer(run, gitlab.Refused(outcome(run), &bot.Refusal{Title: "Lost track of " + run.Job,
				Text: "chatops stopped while playing the job, and GitLab did not answer whether it was played (" + gitlab.Describe(err) +
					"). Look at the job in GitLab before asking again.", Err: err}))
			return
		}
		w.log.Warn("reading a resumed play's job failed; will retry", "run", run.ID, "err", err)
		run.NextAttempt = time.Now().Add(w.interval())
		return
	case err == nil && st.Status == "manual":
		if time.Since(run.CreatedAt) > w.p.opts.ResumeCreateWithin {
			setAnswer(run, gitlab.Refused(outcome(run), &bot.Refusal{Title: run.Job + " was not played",
				Text: "chatops stopped before it could play the job, and it is too late to play it now. Ask again if it is still wanted."}))
			return
		}
		st, err = gl.Play(ctx, run.ProjectID, run.JobID)
		if ctx.Err() != nil {
			return
		}
	}
	w.apply(run, st, err)
}
