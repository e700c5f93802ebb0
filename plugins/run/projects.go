package run

import (
	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/plugins/projects"
	"github.com/chatops-dev/chatops/store"
)

// Project is one GitLab project the bot runs jobs in (see
// projects.Project: the indexing and resolution are shared with the
// other GitLab plugins).
type Project = projects.Project[GitLab]

// projectSet is the run plugin's view of the configured projects.
type projectSet struct{ *projects.Set[GitLab] }

func newProjects(list []Project) (projectSet, error) {
	s, err := projects.New(list)
	return projectSet{s}, err
}

// forConversation is the project `run` means here.
func (ps projectSet) forConversation(m bot.Message) (*Project, error) {
	return ps.ForConversation(m, "run <job>")
}

// forRun finds a stored run's project.
func (ps projectSet) forRun(r *store.Run) *Project { return ps.Named(r.Project) }
