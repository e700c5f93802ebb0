package run

import (
	"fmt"
	"sort"
	"strings"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/store"
)

// Project is one GitLab project the bot runs jobs in.
type Project struct {
	// Alias is how chat names it ("api"), besides its Path. It may be
	// empty for the default project.
	Alias string
	// Path is the project as configured: "group/project" or its id.
	Path string
	// GitLab is the project's client (with the project's own token when
	// it has one).
	GitLab GitLab
	// Channels are the conversations bound to the project,
	// "platform:channelID": `run` there means this project.
	Channels []string
	// Default makes `run` mean this project where no binding says
	// otherwise.
	Default bool
}

// name is how replies name the project.
func (p *Project) name() string {
	if p.Alias != "" {
		return p.Alias
	}
	return p.Path
}

// projects indexes the configured projects.
type projects struct {
	list      []*Project
	byName    map[string]*Project // alias and path, lower case
	byChannel map[string]*Project // "platform:channelID"
	def       *Project
}

func newProjects(list []Project) (*projects, error) {
	ps := &projects{byName: map[string]*Project{}, byChannel: map[string]*Project{}}
	for i := range list {
		p := &list[i]
		ps.list = append(ps.list, p)
		for _, n := range []string{p.Alias, p.Path} {
			if n == "" {
				continue
			}
			n = strings.ToLower(n)
			if other, ok := ps.byName[n]; ok && other != p {
				return nil, fmt.Errorf("run: projects %q and %q are both named %q", other.Path, p.Path, n)
			}
			ps.byName[n] = p
		}
		for _, c := range p.Channels {
			if other, ok := ps.byChannel[c]; ok && other != p {
				return nil, fmt.Errorf("run: channel %s is bound to both %s and %s", c, other.name(), p.name())
			}
			ps.byChannel[c] = p
		}
		if p.Default {
			if ps.def != nil {
				return nil, fmt.Errorf("run: both %s and %s are the default project", ps.def.name(), p.name())
			}
			ps.def = p
		}
	}
	return ps, nil
}

// forConversation is the project `run` means here: the conversation's
// binding, else the default. A refusal lists the projects when neither
// resolves.
func (ps *projects) forConversation(m bot.Message) (*Project, error) {
	if p := ps.byChannel[m.Platform+":"+m.Conversation.ChannelID]; p != nil {
		return p, nil
	}
	if ps.def != nil {
		return ps.def, nil
	}
	return nil, &bot.Refusal{Title: "Which project?",
		Text: "No project is bound to this conversation and there is no default. Name one first, for example: " +
			ps.example() + "\nProjects: " + ps.names()}
}

// forRun finds a stored run's project.
func (ps *projects) forRun(r *store.Run) *Project { return ps.byName[strings.ToLower(r.Project)] }

func (ps *projects) example() string {
	for _, p := range ps.list {
		return p.name() + " run <job>"
	}
	return "<project> run <job>"
}

func (ps *projects) names() string {
	var out []string
	for _, p := range ps.list {
		if p.Alias != "" {
			out = append(out, p.Alias+" ("+p.Path+")")
		} else {
			out = append(out, p.Path)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
