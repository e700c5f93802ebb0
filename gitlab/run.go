package gitlab

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/chatops-dev/chatops/bot"
)

// Run carries out one `run`: checks, the one-job pipeline, progress
// replies updated in place, and the result. A *Refusal is returned, with
// nothing created, when the run cannot start; once a pipeline exists every
// outcome is answered through w and Run returns nil (or the reply error).
func (s *Service) Run(ctx context.Context, w bot.Responder, req RunRequest) error {
	p, err := s.lookupProject(ctx)
	if err != nil {
		return err
	}
	user, err := s.authorize(ctx, p, req.Identity)
	if err != nil {
		return err
	}
	c, err := s.ciAt(ctx, p)
	if err != nil {
		return err
	}
	if _, err := s.findJob(c, p, req.Job); err != nil {
		return err
	}
	pl, err := s.createPipeline(ctx, p, req)
	if err != nil {
		return err
	}
	s.log.Info("pipeline created", "job", req.Job, "pipeline", pl.ID, "user", user)
	o := outcome{Job: req.Job, User: user, PipelineID: pl.ID, PipelineURL: pl.WebURL, Status: "created", Timeout: s.cfg.ReplyTimeout}
	sent, err := w.Reply(ctx, renderProgress(o))
	if err != nil {
		return err
	}
	update := func(r bot.Reply) {
		// Replies are owed even when the run's context ends (shutdown).
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if ns, err := w.Update(uctx, sent, r); err == nil {
			sent = ns
		} else {
			s.log.Warn("could not update the reply", "err", err)
		}
	}

	job, others, err := s.pipelineJob(ctx, p, pl.ID, req.Job)
	if err != nil {
		update(bot.Reply{Status: bot.StatusError, Title: "Lost track of the pipeline", Text: err.Error(), Links: o.links()})
		return nil
	}
	if job == nil {
		_, _, cerr := s.client.Pipelines.CancelPipelineBuild(p.ID, pl.ID, gl.WithContext(ctx))
		text := fmt.Sprintf("GitLab created the pipeline without %s: its rules do not select it for chatops pipelines. ", req.Job)
		if cerr == nil {
			text += "The pipeline was canceled. "
		}
		text += "Add this rule to the job in .gitlab-ci.yml on " + p.DefaultBranch + ":\n" + ruleSnippet(req.Job)
		update(bot.Reply{Status: bot.StatusError, Title: req.Job + " was not in the pipeline", Text: text, Links: o.links()})
		return nil
	}
	o.JobURL = job.WebURL
	if len(others) > 0 {
		o.Notes = append(o.Notes, fmt.Sprintf("The pipeline also runs %s: their rules do not exclude chatops pipelines (add `- if: $CHATOPS_JOB` with `when: never` first in their rules).", strings.Join(others, ", ")))
	}
	if job.Status == "manual" {
		if s.cfg.PlayManual {
			if _, _, err := s.client.Jobs.PlayJob(p.ID, job.ID, nil, gl.WithContext(ctx)); err != nil {
				o.Notes = append(o.Notes, "The job is manual and could not be played ("+messageOf(err)+"); play it in GitLab.")
			}
		} else {
			o.Notes = append(o.Notes, "The job is manual: it waits until someone plays it in GitLab.")
		}
	}

	deadline := time.Now().Add(s.cfg.ReplyTimeout)
	final, err := s.waitJob(ctx, p, job.ID, deadline, func(j *gl.Job) {
		o.Status = j.Status
		if !finished(j.Status) {
			update(renderProgress(o))
		}
	})
	o.Duration = jobDuration(final)
	switch {
	case errors.Is(err, errTimedOut):
		o.Status = "timeout"
		update(renderResult(o))
		return nil
	case ctx.Err() != nil:
		update(bot.Reply{Status: bot.StatusCanceled, Title: "chatops stopped following " + req.Job,
			Text: "The bot is shutting down; the job keeps running in GitLab.", Fields: o.fields(), Links: o.links()})
		return nil
	case err != nil:
		update(bot.Reply{Status: bot.StatusError, Title: "Lost track of " + req.Job, Text: err.Error(), Fields: o.fields(), Links: o.links()})
		return nil
	}
	if o.Log, err = s.fetchLog(ctx, p, job.ID, final.Status == "success"); err != nil {
		o.Notes = append(o.Notes, "The job log could not be read: "+err.Error())
	}
	update(renderResult(o))
	return nil
}

// pipelineJob finds the requested job among the pipeline's jobs, and names
// the others that came along.
func (s *Service) pipelineJob(ctx context.Context, p *project, pipelineID int64, name string) (*gl.Job, []string, error) {
	jobs, _, err := s.client.Jobs.ListPipelineJobs(p.ID, pipelineID, &gl.ListJobsOptions{ListOptions: gl.ListOptions{PerPage: 100}}, gl.WithContext(ctx))
	if err != nil {
		return nil, nil, fmt.Errorf("list the pipeline's jobs: %w", err)
	}
	var found *gl.Job
	var others []string
	for _, j := range jobs {
		if j.Name == name {
			found = j
		} else {
			others = append(others, j.Name)
		}
	}
	sort.Strings(others)
	return found, others, nil
}
