package run

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/retry"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/plugins/run/policy"
	"github.com/chatops-dev/chatops/store"
)

// callTimeout bounds one chat call made by the watcher.
const callTimeout = 30 * time.Second

// work does what a run needs now and returns it (nil when it was lost to
// another writer). It owns run while it works.
func (w *watcher) work(ctx context.Context, run *store.Run, hint string) *store.Run {
	proj := w.p.projects.forRun(run)
	switch {
	case proj == nil && run.Phase != store.PhaseAnswering:
		setAnswer(run, gitlab.Refused(outcome(run), &bot.Refusal{Title: "chatops stopped following " + run.Job,
			Text: "Its project " + run.Project + " is no longer in the bot's configuration. Follow the pipeline in GitLab."}))
	case run.Phase == store.PhaseCreating:
		w.resume(ctx, proj.GitLab, run)
	case run.Phase == store.PhaseFollowing:
		if hint != "" && time.Now().Before(run.Deadline) {
			run.Status = hint
			w.progress(ctx, run)
			if !w.save(ctx, run) {
				return nil
			}
			return run
		}
		w.check(ctx, proj.GitLab, run)
	}
	if !w.save(ctx, run) {
		return nil
	}
	if run.Phase == store.PhaseAnswering && w.holds() {
		w.deliver(ctx, run)
		if !w.save(ctx, run) {
			return nil
		}
	}
	return run
}

// save stores the run; false means it was lost (changed elsewhere) or the
// watcher is stopping.
func (w *watcher) save(ctx context.Context, run *store.Run) bool {
	err := w.st.SaveRun(context.WithoutCancel(ctx), run)
	if err == nil && run.Owner != w.p.opts.Owner {
		// Saved, but the stored lease names another process: this one's
		// lapsed and that one took the run over (and answers it). Acting
		// on further would answer it twice.
		w.log.Warn("another process took over the run; leaving it to that one", "run", run.ID, "owner", run.Owner)
		return false
	}
	if err == nil {
		return true
	}
	if errors.Is(err, store.ErrConflict) {
		w.log.Warn("the run was changed by another process; leaving it to that one", "run", run.ID)
	} else {
		w.log.Error("could not save the run", "run", run.ID, "err", err)
	}
	return false
}

// resume takes up a run whose process died while creating its pipeline:
// the pipeline is looked up by the run's id first, so it is never created
// twice.
func (w *watcher) resume(ctx context.Context, gl GitLab, run *store.Run) {
	if run.ReplyID == "" {
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		sent, err := w.out.Send(cctx, run.Platform, conversation(run), gitlab.Progress(outcome(run)))
		cancel()
		if err == nil {
			setReply(run, sent)
		}
	}
	// The pipeline is made as its requester, as it would have been before
	// the restart (linked users' tokens; see Options.Actor).
	ctx = w.p.actorContext(ctx, run.Requester)
	if playsJob(run) {
		w.resumePlay(ctx, gl, run) // a deploy: the job exists, see play.go
		return
	}
	st, found, err := gl.Find(ctx, plan(run), run.ID, run.CreatedAt)
	if ctx.Err() != nil {
		return
	}
	if err == nil && !found {
		if time.Since(run.CreatedAt) > w.p.opts.ResumeCreateWithin {
			setAnswer(run, gitlab.Refused(outcome(run), &bot.Refusal{Title: run.Job + " was not run",
				Text: "chatops stopped before it could start the pipeline, and it is too late to start it now. Run it again if it is still wanted."}))
			return
		}
		pl := plan(run)
		// The variables are read again from the stored arguments, by the
		// job's policy as configured now.
		vars, input, verr := policy.ChatVariables(run.Job, w.p.opts.Policy.For(run.Project, run.Job), run.Args)
		var refused *bot.Refusal
		if errors.As(verr, &refused) {
			setAnswer(run, gitlab.Refused(outcome(run), refused))
			return
		}
		pl.Args, pl.Variables = input, vars
		st, err = gl.Create(ctx, pl, run.ID, run.CreatedAt)
		if ctx.Err() != nil {
			return
		}
	}
	if transient(err) {
		// The dead process, or this create, may have made the pipeline: an
		// answer now would leave it running unfollowed and invite the user
		// to run the job twice. Only GitLab's word (found, not found,
		// refused) decides; the next attempt looks the pipeline up first.
		if time.Now().Before(run.Deadline) {
			w.log.Warn("GitLab did not say whether a resumed run's pipeline exists; will retry", "run", run.ID, "err", err)
			run.NextAttempt = time.Now().Add(w.interval())
			return
		}
		setAnswer(run, gitlab.Refused(outcome(run), &bot.Refusal{Title: "Lost track of " + run.Job,
			Text: "chatops stopped while starting the pipeline, and GitLab did not answer whether it was created (" + gitlab.Describe(err) +
				"). Look for it in GitLab before running the job again.", Err: err}))
		return
	}
	w.apply(run, st, err)
}

// transient reports a GitLab error that says nothing about the run
// (unreachable, a 5xx, a rate limit): asking again may get an answer. A
// 4xx, or a refusal of the bot's own with no GitLab error under it,
// decides.
func transient(err error) bool {
	if err == nil || gitlab.IsPermanent(err) {
		return false
	}
	var ref *bot.Refusal
	return !errors.As(err, &ref) || ref.Err != nil
}

// check reads the job and moves the run on: a progress edit, or the final
// answer when the job finished or the deadline passed.
func (w *watcher) check(ctx context.Context, gl GitLab, run *store.Run) {
	st, err := gl.Job(ctx, run.ProjectID, run.JobID)
	if ctx.Err() != nil {
		return
	}
	overdue := time.Now().After(run.Deadline)
	switch {
	case err != nil && gitlab.IsPermanent(err):
		setAnswer(run, gitlab.Refused(outcome(run), &bot.Refusal{Title: "Lost track of " + run.Job,
			Text: "GitLab no longer shows the job (" + gitlab.Describe(err) + "). Look at the pipeline in GitLab.", Err: err}))
		return
	case err != nil && !overdue:
		w.log.Warn("reading the job failed; still following", "run", run.ID, "err", err)
		return
	case err != nil:
		run.Notes = append(run.Notes, "GitLab did not answer the last check: "+gitlab.Describe(err))
		w.timedOut(run)
		return
	}
	if gitlab.Finished(st.Status) {
		o := outcome(run)
		o.Status, o.Duration = st.Status, st.Duration
		reply, lerr := gl.FetchReply(ctx, run.ProjectID, st)
		if ctx.Err() != nil {
			return
		}
		if lerr != nil {
			o.Notes = append(o.Notes, "The job log could not be read: "+gitlab.Describe(lerr))
		}
		o.Log = reply
		run.Status = st.Status
		w.jobFinished(run, st)
		setAnswer(run, gitlab.Result(o))
		return
	}
	if overdue {
		run.Status = st.Status
		w.timedOut(run)
		return
	}
	if st.Status != run.Status {
		run.Status = st.Status
		w.progress(ctx, run)
	}
}

func (w *watcher) timedOut(run *store.Run) {
	o := outcome(run)
	o.Status = "timeout"
	setAnswer(run, gitlab.Result(o))
}

// progress edits the run's reply to show its status. It is best effort:
// a lost progress edit is overtaken by the next one or the answer.
func (w *watcher) progress(ctx context.Context, run *store.Run) {
	if run.ReplyID == "" {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	sent, err := w.out.Edit(cctx, run.Platform, replyRef(run), gitlab.Progress(outcome(run)))
	if err != nil {
		w.log.Warn("could not update the progress reply", "run", run.ID, "err", err)
		return
	}
	setReply(run, sent)
}

// deliver posts the final answer, edited into the progress reply where
// there is one. A failure is retried with backoff, across restarts, for
// DeliverFor; an edit the platform refuses for good (the message was
// deleted) becomes a new message.
func (w *watcher) deliver(ctx context.Context, run *store.Run) {
	reply, err := answer(run)
	if err != nil {
		w.log.Error("the stored answer is unreadable; dropping it", "run", run.ID, "err", err)
		run.Phase = store.PhaseDone
		return
	}
	if notes := w.takeNotes(run.ID); len(notes) > 0 {
		// Given while this task found the answer (a cancel's "who"):
		// they belong in it, and are stored with it.
		run.Notes = append(run.Notes, notes...)
		reply.Text = strings.TrimLeft(reply.Text+"\n"+strings.Join(notes, "\n"), "\n")
		run.Answer, _ = json.Marshal(reply) // a Reply is plain data: it always encodes
	}
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var sent bot.Sent
	if run.ReplyID != "" {
		sent, err = w.out.Edit(cctx, run.Platform, replyRef(run), reply)
		if err != nil && bot.IsPermanent(err) {
			w.log.Warn("the progress reply cannot be edited; posting the answer anew", "run", run.ID, "err", err)
			sent, err = w.out.Send(cctx, run.Platform, conversation(run), reply)
		}
	} else {
		sent, err = w.out.Send(cctx, run.Platform, conversation(run), reply)
	}
	if err == nil {
		setReply(run, sent)
		run.Phase = store.PhaseDone
		w.answered(run)
		w.log.Info("run answered", "run", run.ID, "job", run.Job, "status", run.Status, "pipeline", run.PipelineID)
		return
	}
	if ctx.Err() != nil {
		return
	}
	run.Attempts++
	if bot.IsPermanent(err) || time.Now().After(run.Deadline.Add(w.p.opts.DeliverFor)) {
		w.log.Error("giving up delivering a run's answer", "run", run.ID, "attempts", run.Attempts, "err", err)
		run.Phase = store.PhaseDone
		return
	}
	backoff := retry.Backoff{Min: time.Second, Max: 10 * time.Minute}.Wait(run.Attempts - 1)
	run.NextAttempt = time.Now().Add(backoff)
	w.log.Warn("could not deliver a run's answer; will retry", "run", run.ID, "attempt", run.Attempts, "in", backoff, "err", err)
}
