// Package projects is the set of GitLab projects chat commands act on,
// shared by the plugins that talk to GitLab (run, issue, deploy): which
// project a conversation means (its binding, else the default), the names
// that address one ("<project> run ...", "<project> issue ..."), and the
// handlers of such scoped commands. Each plugin keeps its own client type
// C for a project, so it depends only on the GitLab calls it makes.
package projects

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/commands"
)

// Project is one GitLab project chat commands act on, with C the client a
// plugin talks to it through.
type Project[C any] struct {
	// Alias is how chat names it ("api"), besides its Path. It may be
	// empty for the default project.
	Alias string
	// Path is the project as configured: "group/project" or its id.
	Path string
	// GitLab is the project's client (with the project's own token when
	// it has one).
	GitLab C
	// Channels are the conversations bound to the project,
	// "platform:channelID": commands there mean this project.
	Channels []string
	// Default makes commands mean this project where no binding says
	// otherwise.
	Default bool
}

// Name is how replies name the project: its alias, else its path.
func (p *Project[C]) Name() string {
	if p.Alias != "" {
		return p.Alias
	}
	return p.Path
}

// Map returns the projects with each client converted by f: one
// configuration, each plugin with the client interface it needs.
func Map[A, B any](list []Project[A], f func(A) B) []Project[B] {
	out := make([]Project[B], len(list))
	for i, p := range list {
		out[i] = Project[B]{Alias: p.Alias, Path: p.Path, GitLab: f(p.GitLab), Channels: p.Channels, Default: p.Default}
	}
	return out
}

// Set indexes the configured projects.
type Set[C any] struct {
	list      []*Project[C]
	byName    map[string]*Project[C] // alias and path, lower case
	byChannel map[string]*Project[C] // "platform:channelID"
	def       *Project[C]
}

// New indexes list, or says why it is ambiguous: two projects with one
// name, a channel bound twice, two defaults.
func New[C any](list []Project[C]) (*Set[C], error) {
	s := &Set[C]{byName: map[string]*Project[C]{}, byChannel: map[string]*Project[C]{}}
	for i := range list {
		p := &list[i]
		s.list = append(s.list, p)
		for _, n := range []string{p.Alias, p.Path} {
			if n == "" {
				continue
			}
			n = strings.ToLower(n)
			if other, ok := s.byName[n]; ok && other != p {
				return nil, fmt.Errorf("projects: %q and %q are both named %q", other.Path, p.Path, n)
			}
			s.byName[n] = p
		}
		for _, c := range p.Channels {
			if other, ok := s.byChannel[c]; ok && other != p {
				return nil, fmt.Errorf("projects: channel %s is bound to both %s and %s", c, other.Name(), p.Name())
			}
			s.byChannel[c] = p
		}
		if p.Default {
			if s.def != nil {
				return nil, fmt.Errorf("projects: both %s and %s are the default project", s.def.Name(), p.Name())
			}
			s.def = p
		}
	}
	return s, nil
}

// List returns the projects in their configured order.
func (s *Set[C]) List() []*Project[C] { return s.list }

// Named finds a project by alias or path, case-insensitively; nil when
// none has that name.
func (s *Set[C]) Named(name string) *Project[C] { return s.byName[strings.ToLower(name)] }

// ForConversation is the project a command means here: the
// conversation's binding, else the default. When neither resolves, the
// refusal lists the projects and shows how to name one, with command (as
// "run <job>") after the name.
func (s *Set[C]) ForConversation(m bot.Message, command string) (*Project[C], error) {
	if p := s.byChannel[m.Platform+":"+m.Conversation.ChannelID]; p != nil {
		return p, nil
	}
	if s.def != nil {
		return s.def, nil
	}
	example := "<project>"
	if len(s.list) > 0 {
		example = s.list[0].Name()
	}
	return nil, &bot.Refusal{Title: "Which project?",
		Text: "No project is bound to this conversation and there is no default. Name one first, for example: " +
			example + " " + command + "\nProjects: " + s.Names()}
}

// Names lists the projects for replies: "alias (path)" or the path,
// sorted.
func (s *Set[C]) Names() string {
	var out []string
	for _, p := range s.list {
		if p.Alias != "" {
			out = append(out, p.Alias+" ("+p.Path+")")
		} else {
			out = append(out, p.Path)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// Resolve is the project a command means: the one named by in (a scoped
// command's project path, see Handler), else the conversation's.
func (s *Set[C]) Resolve(m bot.Message, in, command string) (*Project[C], error) {
	if in == "" {
		return s.ForConversation(m, command)
	}
	if p := s.Named(in); p != nil {
		return p, nil
	}
	return nil, &bot.Refusal{Title: "Unknown project " + in, Text: "Projects: " + s.Names()}
}

// Handler serves a command addressed to a project, "<project> issue show
// 13": in is the project's path ("" for the conversation's project, when
// the command was typed without one), r.RawArgs what follows the command.
type Handler func(ctx context.Context, w bot.Responder, r *commands.Request, in string) error

// Command is a Handler as an ordinary command: the conversation's project.
func (h Handler) Command() commands.Handler {
	return commands.HandlerFunc(func(ctx context.Context, w bot.Responder, r *commands.Request) error {
		return h(ctx, w, r, "")
	})
}
