// Package gitlabplugins builds the GitLab plugins of a bot, run, issue
// and deploy, over one set of projects and wired together: "<project>
// issue ..." and "<project> deploy ..." go through the run plugin's
// per-project commands, and deploys are followed by its watcher. main,
// the demo and tests build them here, the one place that knows how they
// fit.
package gitlabplugins

import (
	"github.com/chatops-dev/chatops/commands"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/plugins/deploy"
	"github.com/chatops-dev/chatops/plugins/issue"
	"github.com/chatops-dev/chatops/plugins/projects"
	"github.com/chatops-dev/chatops/plugins/run"
)

// Project is a configured GitLab project with its client.
type Project = projects.Project[*gitlab.Service]

// Set is the GitLab plugins of one bot.
type Set struct {
	Run    *run.Plugin
	Issue  *issue.Plugin
	Deploy *deploy.Plugin
}

// New builds the plugins over list. opts configures the run plugin; its
// Projects, GitLab and Project are taken from list.
func New(list []Project, opts run.Options) (*Set, error) {
	opts.Projects = projects.Map(list, func(s *gitlab.Service) run.GitLab { return s })
	opts.GitLab, opts.Project = nil, ""
	r, err := run.New(opts)
	if err != nil {
		return nil, err
	}
	is, err := issue.New(projects.Map(list, func(s *gitlab.Service) issue.GitLab { return s }))
	if err != nil {
		return nil, err
	}
	d, err := deploy.New(projects.Map(list, func(s *gitlab.Service) deploy.GitLab { return s }), r)
	if err != nil {
		return nil, err
	}
	r.Scope("issue", is.ServeIn)
	r.Scope("deploy", d.ServeIn)
	return &Set{Run: r, Issue: is, Deploy: d}, nil
}

// Plugins returns the plugins for a router (commands.Router.Add).
func (s *Set) Plugins() []commands.Plugin { return []commands.Plugin{s.Run, s.Issue, s.Deploy} }
