// Package deploy is the `deploy <from> to <to>` command, GitLab's deploy
// slash command for every chat platform: it finds the latest successful
// deployment of environment <from>, in its pipeline the manual job whose
// environment is <to>, plays it as the chat user's GitLab identity may,
// and has the run plugin follow it like a run (progress, outcome, kept
// across restarts).
package deploy

import (
	"context"
	"fmt"
	"regexp"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/commands"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/plugins/projects"
	"github.com/chatops-dev/chatops/plugins/run"
)

// GitLab is what the plugin needs of a project's GitLab client;
// *gitlab.Service is one.
type GitLab interface {
	PrepareDeploy(ctx context.Context, req gitlab.DeployRequest) (gitlab.DeployPlan, error)
}

// Runs follows a played job as a run; *run.Plugin is one.
type Runs interface {
	StartPlay(ctx context.Context, w bot.Responder, m bot.Message, pl run.Play) error
}

// Project is a project chat can deploy in.
type Project = projects.Project[GitLab]

// Kind is the stored kind of a deploy's run.
const Kind = "deploy"

// Plugin provides the deploy command.
type Plugin struct {
	projects *projects.Set[GitLab]
	runs     Runs
}

// New returns the plugin: deploys in list, followed by runs.
func New(list []Project, runs Runs) (*Plugin, error) {
	if runs == nil {
		return nil, fmt.Errorf("deploy: a run plugin to follow deploys is required")
	}
	s, err := projects.New(list)
	if err != nil {
		return nil, err
	}
	return &Plugin{projects: s, runs: runs}, nil
}

// Commands implements commands.Plugin.
func (p *Plugin) Commands() []commands.Command {
	return []commands.Command{{
		Name:    "deploy",
		Usage:   "<environment> to <target-environment>",
		Summary: "Promote what an environment runs to another one, with its pipeline's manual job",
		Help: "As GitLab's deploy slash command: takes the latest successful deployment of <environment>, finds in its pipeline " +
			"the manual job whose environment is <target-environment>, plays it and posts its progress and output here. " +
			"Exactly one such job must wait to be played (several: the one named <target-environment>). Deploying needs the " +
			"Developer role, as running a job. The project is the one bound to this conversation, else the default; name another first: <project> deploy staging to production.",
		Examples: []string{"deploy staging to production", "api deploy review/feature-x to staging"},
		Handler:  projects.Handler(p.ServeIn).Command(),
	}}
}

// GitLab's grammar: deploy\s+(?<from>\S+.*)\s+to+\s+(?<to>\S+.*) on one
// line; "from" is greedy, so the last " to " splits.
var grammar = regexp.MustCompile(`^\s*(\S.*)\s+to+\s+(\S.*?)\s*$`)

// ServeIn serves `deploy <from> to <to>` in the project named in (a path;
// "" for the conversation's project): the run plugin calls it for
// "<project> deploy ..." (see run.Plugin.Scope).
func (p *Plugin) ServeIn(ctx context.Context, w bot.Responder, r *commands.Request, in string) error {
	m := grammar.FindStringSubmatch(r.RawArgs)
	if m == nil {
		return &bot.Refusal{Title: "Deploy what where?", Text: "Usage: deploy <environment> to <target-environment>, for example: deploy staging to production"}
	}
	from, to := m[1], m[2]
	proj, err := p.projects.Resolve(r.Message, in, "deploy "+from+" to "+to)
	if err != nil {
		return err
	}
	plan, err := proj.GitLab.PrepareDeploy(ctx, gitlab.DeployRequest{From: from, To: to, Identity: r.Message.Identity()})
	if err != nil {
		return err // a *bot.Refusal: nothing was played
	}
	bot.Logger(ctx).Info("deploy found its job", "from", from, "to", to, "job", plan.Job, "job_id", plan.JobID, "pipeline", plan.PipelineID)
	return p.runs.StartPlay(ctx, w, r.Message, run.Play{
		Kind: Kind, Project: proj.Path, ProjectID: plan.ProjectID, Ref: plan.Ref,
		Job: plan.Job, JobID: plan.JobID, JobURL: plan.JobURL, PipelineID: plan.PipelineID, PipelineURL: plan.PipelineURL,
		User: plan.User,
		Notes: []string{fmt.Sprintf("Deploying %s (%s) from %s to %s: what deployment #%d put on %s.",
			plan.Ref, shortSHA(plan.SHA), from, to, plan.FromDeployment, from)},
	})
}

func shortSHA(sha string) string { return sha[:min(len(sha), 8)] }
