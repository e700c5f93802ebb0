package gitlab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/chatops-dev/chatops/bot"
)

// DeployRequest is one `deploy <from> to <to>` from chat.
type DeployRequest struct {
	// From and To are environment names, matched exactly as GitLab does.
	From, To string
	// Identity is "platform:userID", looked up in Config.Identities.
	Identity string
}

// DeployPlan is a checked deploy: the manual job to play. Nothing has
// been played yet.
type DeployPlan struct {
	From, To string
	// User is the GitLab username the deploy acts as.
	User       string
	ProjectID  int64
	ProjectURL string
	// Ref and SHA are what the latest successful deployment of From
	// deployed, and what the job deploys to To.
	Ref, SHA string
	// FromDeployment is that deployment's number (iid) in the project.
	FromDeployment int64
	PipelineID     int64
	PipelineURL    string
	Job            string
	JobID          int64
	JobURL         string
}

// PrepareDeploy finds what `deploy <from> to <to>` plays, as GitLab's
// slash command does: the latest successful deployment of From, and in
// its pipeline the manual job whose environment is To. GitLab's jobs API
// does not say a job's environment, so the job is found through To's
// deployments: GitLab creates one (status "created") for each job with an
// environment when it creates the pipeline. Several such jobs are
// resolved as GitLab does, by the one named To; else, and when there is
// none, a *bot.Refusal names what was found.
func (s *Service) PrepareDeploy(ctx context.Context, req DeployRequest) (DeployPlan, error) {
	if s.cfg.ActAs == ActAsUser && !actorFrom(ctx).Linked() {
		return DeployPlan{}, s.linkFirst()
	}
	if _, ok := s.username(ctx, req.Identity); !ok {
		return DeployPlan{}, s.unlinked(req.Identity)
	}
	ctx, cancel := s.bound(ctx, 6)
	defer cancel()
	p, _, err := s.client.Projects.GetProject(s.cfg.Project, nil, gl.WithContext(ctx))
	if err != nil {
		return DeployPlan{}, s.apiRefusal("read the project "+s.cfg.Project, err)
	}
	// Deploying is GitLab's create_deployment right: Developer or more,
	// as running a job.
	user, err := s.authorize(ctx, &project{ID: p.ID, WebURL: p.WebURL}, req.Identity, actorFrom(ctx))
	if err != nil {
		return DeployPlan{}, err
	}
	last, err := s.lastDeployment(ctx, p.ID, req.From)
	if err != nil {
		return DeployPlan{}, err
	}
	plan := DeployPlan{From: req.From, To: req.To, User: user, ProjectID: p.ID, ProjectURL: p.WebURL,
		Ref: last.Ref, SHA: last.SHA, FromDeployment: last.IID, PipelineID: last.Deployable.Pipeline.ID,
		PipelineURL: fmt.Sprintf("%s/-/pipelines/%d", p.WebURL, last.Deployable.Pipeline.ID)}
	actions, err := s.actionsFor(ctx, p.ID, plan.PipelineID, req.To)
	if err != nil {
		return DeployPlan{}, err
	}
	job, err := s.pickAction(ctx, plan, actions)
	if err != nil {
		return DeployPlan{}, err
	}
	plan.Job, plan.JobID, plan.JobURL = job.Name, job.ID, fmt.Sprintf("%s/-/jobs/%d", p.WebURL, job.ID)
	return plan, nil
}

// lastDeployment is the environment's latest successful deployment.
func (s *Service) lastDeployment(ctx context.Context, projectID int64, env string) (*gl.Deployment, error) {
	list, _, err := s.client.Deployments.ListProjectDeployments(projectID, &gl.ListProjectDeploymentsOptions{
		Environment: gl.Ptr(env), Status: gl.Ptr("success"), OrderBy: gl.Ptr("finished_at"), Sort: gl.Ptr("desc"),
		ListOptions: gl.ListOptions{PerPage: 1},
	}, gl.WithContext(ctx))
	if err != nil {
		return nil, s.apiRefusal("list the deployments of "+env, err)
	}
	if len(list) > 0 {
		return list[0], nil
	}
	names, err := s.environments(ctx, projectID)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if n == env {
			return nil, &bot.Refusal{Title: env + " has no successful deployment",
				Text: "There is nothing to promote from " + env + " yet: deploy to it first."}
		}
	}
	text := "Environment names are matched exactly."
	if len(names) > 0 {
		text += " Environments in " + s.cfg.Project + ": " + strings.Join(names, ", ") + "."
	} else {
		text += " " + s.cfg.Project + " has no environments."
	}
	return nil, &bot.Refusal{Title: "No environment " + env + " in " + s.cfg.Project, Text: text}
}

// environments names the project's available environments (the first
// hundred), for refusals.
func (s *Service) environments(ctx context.Context, projectID int64) ([]string, error) {
	envs, _, err := s.client.Environments.ListEnvironments(projectID, &gl.ListEnvironmentsOptions{
		States: gl.Ptr("available"), ListOptions: gl.ListOptions{PerPage: 100},
	}, gl.WithContext(ctx))
	if err != nil {
		return nil, s.apiRefusal("list the environments", err)
	}
	var names []string
	for _, e := range envs {
		names = append(names, e.Name)
	}
	sort.Strings(names)
	return names, nil
}

// action is a manual job of the pipeline that deploys to the target.
type action struct {
	ID   int64
	Name string
}

// actionsFor lists the pipeline's jobs still waiting to be played whose
// environment is env: env's deployments not started yet, of that
// pipeline.
func (s *Service) actionsFor(ctx context.Context, projectID, pipelineID int64, env string) ([]action, error) {
	opts := &gl.ListProjectDeploymentsOptions{Environment: gl.Ptr(env), Status: gl.Ptr("created"),
		OrderBy: gl.Ptr("id"), Sort: gl.Ptr("desc"), ListOptions: gl.ListOptions{PerPage: 100}}
	var out []action
	for page := 1; page <= maxPages; page++ {
		opts.Page = int64(page)
		list, resp, err := s.client.Deployments.ListProjectDeployments(projectID, opts, gl.WithContext(ctx))
		if err != nil {
			return nil, s.apiRefusal("list the deployments of "+env, err)
		}
		for _, d := range list {
			if d.Deployable.Pipeline.ID == pipelineID && d.Deployable.Status == "manual" {
				out = append(out, action{ID: d.Deployable.ID, Name: d.Deployable.Name})
			}
		}
		if resp == nil || resp.NextPage == 0 {
			break
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// pickAction is the one action to play, or a refusal naming what the
// pipeline offers.
func (s *Service) pickAction(ctx context.Context, plan DeployPlan, actions []action) (action, error) {
	switch len(actions) {
	case 1:
		return actions[0], nil
	case 0:
		manual, err := s.manualJobs(ctx, plan.ProjectID, plan.PipelineID)
		if err != nil {
			return action{}, err
		}
		text := fmt.Sprintf("Pipeline #%d, which last deployed %s (%s), has no manual job with environment %s waiting to be played.", plan.PipelineID, plan.From, shortSHA(plan.SHA), plan.To)
		if len(manual) > 0 {
			text += " Its manual jobs: " + strings.Join(manual, ", ") + "."
		} else {
			text += " It has no manual jobs left (a job that was played already cannot be played again from chat)."
		}
		text += "\nA job deploys to " + plan.To + " with:\n  when: manual\n  environment:\n    name: " + plan.To
		return action{}, &bot.Refusal{Title: "Nothing deploys " + plan.From + " to " + plan.To, Text: text}
	}
	var names []string
	for _, a := range actions {
		if a.Name == plan.To {
			return a, nil // GitLab's tie-break: the job named after the target
		}
		names = append(names, a.Name)
	}
	return action{}, &bot.Refusal{Title: fmt.Sprintf("%d jobs deploy %s to %s", len(actions), plan.From, plan.To),
		Text: fmt.Sprintf("Pipeline #%d has several manual jobs with environment %s: %s. chatops plays only one; as GitLab does, it would play the one named %s, and there is none. Play the one you want in GitLab.",
			plan.PipelineID, plan.To, strings.Join(names, ", "), plan.To)}
}

// manualJobs names the pipeline's jobs waiting to be played, reading
// every page (bounded by maxPages: a refusal only names them).
func (s *Service) manualJobs(ctx context.Context, projectID, pipelineID int64) ([]string, error) {
	var names []string
	err := eachPage(func(page int64) (*gl.Response, error) {
		jobs, resp, err := s.client.Jobs.ListPipelineJobs(projectID, pipelineID, &gl.ListJobsOptions{
			Scope: &[]gl.BuildStateValue{gl.Manual}, ListOptions: gl.ListOptions{PerPage: 100, Page: page},
		}, gl.WithContext(ctx))
		for _, j := range jobs {
			names = append(names, j.Name)
		}
		return resp, err
	})
	if err != nil && !errors.Is(err, errTooManyJobs) {
		return nil, s.apiRefusal("list the pipeline's manual jobs", err)
	}
	sort.Strings(names)
	return names, nil
}

// Play plays a manual job and returns its state. It is never retried
// blindly: after a failure the job is read, and a job that is no longer
// manual was played (by this call whose answer was lost, or by someone
// else), which is what was wanted.
func (s *Service) Play(ctx context.Context, projectID, jobID int64) (State, error) {
	opts := s.as(actorFrom(ctx))
	ctx, cancel := s.bound(ctx, 2)
	defer cancel()
	j, _, err := s.client.Jobs.PlayJob(projectID, jobID, nil, append(opts, gl.WithContext(ctx), noRetry)...)
	if err == nil {
		s.log.Info("job played", "job", jobID)
		return State{JobID: j.ID, JobURL: j.WebURL, PipelineID: j.Pipeline.ID, Status: j.Status}, nil
	}
	if st, rerr := s.Job(ctx, projectID, jobID); rerr == nil && st.Status != "manual" {
		s.log.Info("job found played after a failed play request", "job", jobID, "status", st.Status, "err", err)
		return st, nil
	}
	if statusOf(err) == http.StatusForbidden {
		return State{}, &bot.Refusal{Title: "GitLab refused to play the job",
			Text: "The bot's GitLab user may not deploy there (403): the environment or the branch may be protected. Allow that user in Settings > CI/CD > Protected environments, or play the job in GitLab.", Err: err}
	}
	return State{}, s.apiRefusal(fmt.Sprintf("play job %d", jobID), err)
}

func shortSHA(sha string) string { return sha[:min(len(sha), 8)] }
