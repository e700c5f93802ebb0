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

// Plan is a checked request to run a job: the chat user may, the job
// exists and may run from chat. Nothing has been created yet.
type Plan struct {
	// Job and Args are the request's job name and raw arguments.
	Job, Args string
	// Variables are the named pipeline variables from chat.
	Variables map[string]string
	// ChannelID and UserID are the chat ids given to the job.
	ChannelID, UserID string
	// User is the GitLab username the run acts as.
	User string
	// Actor is the credential side effects are made with (see Actor).
	Actor Actor
	// ProjectID is the project's numeric id, ProjectURL its web page and
	// Ref the branch or tag the pipeline runs on.
	ProjectID  int64
	ProjectURL string
	Ref        string
}

// State is what GitLab says of a run's pipeline and job.
type State struct {
	PipelineID  int64
	PipelineURL string
	JobID       int64
	JobURL      string
	// Status is the job's GitLab status ("" while the pipeline does not
	// exist).
	Status string
	// Duration is how long the job ran.
	Duration time.Duration
	// FinishedAt is when the job finished, by GitLab's clock (zero while
	// it runs).
	FinishedAt time.Time
	// HasArtifacts says the job kept an artifacts archive (artifacts:
	// paths) that can be downloaded, where its reply file may be (see
	// FetchReply). Only Job tells it.
	HasArtifacts bool
	// Notes are remarks worth showing with the run (jobs that came along,
	// a manual job that could not be played).
	Notes []string
}

// Finished reports a job status after which nothing changes.
func Finished(status string) bool {
	switch status {
	case "success", "failed", "canceled", "skipped":
		return true
	}
	return false
}

// Prepare checks a request without side effects: the project and its
// default branch, the chat user's GitLab identity and role, and the job in
// the branch's CI configuration. A *bot.Refusal says why a run cannot
// start.
func (s *Service) Prepare(ctx context.Context, req RunRequest) (Plan, error) {
	if !req.Actor.Linked() {
		req.Actor = actorFrom(ctx) // set by the identity middleware
	}
	req.Actor.Identity = req.Identity
	// An unmapped chat user costs GitLab nothing.
	if !req.Actor.Linked() {
		if s.cfg.ActAs == ActAsUser {
			return Plan{}, s.linkFirst()
		}
		if _, ok := s.cfg.Identities[req.Identity]; !ok {
			return Plan{}, s.unlinked(req.Identity)
		}
	}
	ctx, cancel := s.bound(ctx, 3)
	defer cancel()
	p, err := s.lookupProject(ctx)
	if err != nil {
		return Plan{}, err
	}
	user, err := s.authorize(ctx, p, req.Identity, req.Actor)
	if err != nil {
		return Plan{}, err
	}
	if err := s.atRef(ctx, p, req.Ref); err != nil {
		return Plan{}, err
	}
	c, err := s.ciAt(ctx, p)
	if err != nil {
		return Plan{}, err
	}
	if _, err := s.findJob(c, p, req.Job); err != nil {
		return Plan{}, err
	}
	actor := req.Actor
	actor.Username = user
	return Plan{Job: req.Job, Args: req.Args, Variables: req.Variables, ChannelID: req.ChannelID, UserID: req.UserID, User: user, Actor: actor,
		ProjectID: p.ID, ProjectURL: p.WebURL, Ref: p.Ref}, nil
}

// Create creates the plan's one-job pipeline carrying runID as
// CHATOPS_RUN_ID (created is when the run was recorded), then finds the
// job in the pipeline, plays it when it is manual (and PlayManual is set),
// and returns the state. When GitLab created the pipeline without the job,
// the pipeline is canceled and a *bot.Refusal with the rule to add is
// returned, together with the state so the reply can link the pipeline.
func (s *Service) Create(ctx context.Context, plan Plan, runID string, created time.Time) (State, error) {
	if a := actorFrom(ctx); !plan.Actor.Linked() && a.Linked() {
		plan.Actor = a // a plan rebuilt from a stored run (resumed)
	}
	if plan.Actor.Username == "" {
		plan.Actor.Username = plan.User
	}
	ctx, cancel := s.bound(ctx, 4)
	defer cancel()
	pl, err := s.createPipeline(ctx, plan, runID, created)
	if err != nil {
		return State{}, err
	}
	s.log.Info("pipeline created", "job", plan.Job, "pipeline", pl.ID, "user", plan.User, "as", s.actingAs(plan.Actor), "run", runID)
	return s.attach(ctx, plan, pl)
}

// Find looks for the pipeline carrying runID, for a run whose process may
// have died while creating it (or whose create request got no answer),
// and takes it up as Create would. found is false when GitLab has no such
// pipeline: nothing was created.
func (s *Service) Find(ctx context.Context, plan Plan, runID string, created time.Time) (st State, found bool, err error) {
	ctx, cancel := s.bound(ctx, 4)
	defer cancel()
	pl, err := s.findRunPipeline(ctx, plan, runID, created)
	if err != nil {
		return State{}, false, s.apiRefusal("look for the run's pipeline", err)
	}
	if pl == nil {
		return State{}, false, nil
	}
	s.log.Info("pipeline found for a resumed run", "job", plan.Job, "pipeline", pl.ID, "run", runID)
	st, err = s.attach(ctx, plan, pl)
	return st, true, err
}

// attach finds the job in a new pipeline and plays it if it is manual.
func (s *Service) attach(ctx context.Context, plan Plan, pl *gl.Pipeline) (State, error) {
	st := State{PipelineID: pl.ID, PipelineURL: pl.WebURL, Status: "created"}
	job, others, err := s.pipelineJob(ctx, plan.ProjectID, pl.ID, plan.Job)
	if errors.Is(err, errTooManyJobs) {
		// The job may be on a page not read: canceling would stop the
		// very job asked for, and the rule advice could be wrong.
		return st, &bot.Refusal{Title: "Could not find " + plan.Job + " in the pipeline",
			Text: fmt.Sprintf("The pipeline has more than %d jobs and %s is not among the first ones; it was left running. Give the other jobs a rule that excludes chatops pipelines (`- if: $CHATOPS_JOB` with `when: never` first in their rules).", maxPages*100, plan.Job), Err: err}
	}
	if err != nil {
		return st, s.apiRefusal("list the pipeline's jobs", err)
	}
	if job == nil {
		// A trigger job is listed only as a bridge (a configuration that
		// gets trigger: through extends:, or changed since Prepare). It was
		// created and runs: it is not canceled, only not followed.
		bridge, err := s.pipelineBridge(ctx, plan.ProjectID, pl.ID, plan.Job)
		if err != nil {
			return st, s.apiRefusal("list the pipeline's trigger jobs", err)
		}
		if bridge != nil {
			st.JobID, st.JobURL, st.Status = bridge.ID, bridge.WebURL, bridge.Status
			ref := triggerRefusal(plan.Job)
			ref.Text = fmt.Sprintf("GitLab created it in pipeline #%d, which was left running; see its downstream pipeline there. ", pl.ID) + ref.Text
			return st, ref
		}
		if inst := parallelInstances(plan.Job, others); len(inst) > 0 {
			// parallel: through extends:, or added since Prepare: its
			// instances run; they are left running, not followed.
			ref := parallelRefusal(plan.Job, inst)
			ref.Text = fmt.Sprintf("GitLab created pipeline #%d, which was left running. ", pl.ID) + ref.Text
			return st, ref
		}
		_, _, cerr := s.client.Pipelines.CancelPipelineBuild(plan.ProjectID, pl.ID, append(s.as(plan.Actor), gl.WithContext(ctx))...)
		text := fmt.Sprintf("GitLab created the pipeline without %s: its rules do not select it for chatops pipelines. ", plan.Job)
		if cerr == nil {
			text += "The pipeline was canceled. "
		}
		text += "Add this rule to the job in .gitlab-ci.yml on " + plan.Ref + ":\n" + ruleSnippet(plan.Job)
		return st, &bot.Refusal{Title: plan.Job + " was not in the pipeline", Text: text}
	}
	st.JobID, st.JobURL, st.Status = job.ID, job.WebURL, job.Status
	if len(others) > 0 {
		names := strings.Join(others, ", ")
		if len(others) > maxNamed { // a pipeline may hold hundreds
			names = fmt.Sprintf("%s and %d more jobs", strings.Join(others[:maxNamed], ", "), len(others)-maxNamed)
		}
		st.Notes = append(st.Notes, fmt.Sprintf("The pipeline also runs %s: their rules do not exclude chatops pipelines (add `- if: $CHATOPS_JOB` with `when: never` first in their rules).", names))
	}
	if job.Status == "manual" {
		if s.cfg.PlayManual {
			if j, _, err := s.client.Jobs.PlayJob(plan.ProjectID, job.ID, nil, append(s.as(plan.Actor), gl.WithContext(ctx))...); err != nil {
				st.Notes = append(st.Notes, "The job is manual and could not be played ("+messageOf(err)+"); play it in GitLab.")
			} else {
				st.Status = j.Status
			}
		} else {
			st.Notes = append(st.Notes, "The job is manual: it waits until someone plays it in GitLab.")
		}
	}
	return st, nil
}

// maxNamed bounds the jobs a note names.
const maxNamed = 10

// errTooManyJobs says a pipeline's job list was not read to its end.
var errTooManyJobs = errors.New("the pipeline has more jobs than chatops reads")

// pipelineJob finds the requested job among the pipeline's jobs, and names
// the others that came along. GitLab lists at most 100 jobs a page and
// its jobs API cannot filter by name, so the pages are read until the
// last, bounded by maxPages: a job absent from what was read is absent
// from the pipeline only when the list was read to its end (else
// errTooManyJobs).
func (s *Service) pipelineJob(ctx context.Context, projectID, pipelineID int64, name string) (*gl.Job, []string, error) {
	var found *gl.Job
	var others []string
	err := eachPage(func(page int64) (*gl.Response, error) {
		jobs, resp, err := s.client.Jobs.ListPipelineJobs(projectID, pipelineID, &gl.ListJobsOptions{ListOptions: gl.ListOptions{PerPage: 100, Page: page}}, gl.WithContext(ctx))
		for _, j := range jobs {
			if j.Name == name && found == nil {
				found = j
			} else if j.Name != name {
				others = append(others, j.Name)
			}
		}
		return resp, err
	})
	if err != nil && (found == nil || !errors.Is(err, errTooManyJobs)) {
		return nil, nil, fmt.Errorf("list the pipeline's jobs: %w", err)
	}
	sort.Strings(others)
	return found, others, nil
}

// pipelineBridge finds the trigger job named name among the pipeline's
// bridges (nil when there is none).
func (s *Service) pipelineBridge(ctx context.Context, projectID, pipelineID int64, name string) (*gl.Bridge, error) {
	var found *gl.Bridge
	err := eachPage(func(page int64) (*gl.Response, error) {
		list, resp, err := s.client.Jobs.ListPipelineBridges(projectID, pipelineID, &gl.ListJobsOptions{ListOptions: gl.ListOptions{PerPage: 100, Page: page}}, gl.WithContext(ctx))
		for _, b := range list {
			if b.Name == name && found == nil {
				found = b
			}
		}
		if found != nil {
			return nil, err // no need for more pages
		}
		return resp, err
	})
	if err != nil && !errors.Is(err, errTooManyJobs) {
		return nil, fmt.Errorf("list the pipeline's bridges: %w", err)
	}
	return found, nil
}

// eachPage calls list for pages 1, 2, ... until GitLab says there is no
// next page, at most maxPages of them; errTooManyJobs when more remain.
func eachPage(list func(page int64) (*gl.Response, error)) error {
	for page := int64(1); page <= maxPages; page++ {
		resp, err := list(page)
		if err != nil {
			return err
		}
		if resp == nil || resp.NextPage == 0 {
			return nil
		}
	}
	return errTooManyJobs
}
