package main

import (
	"github.com/chatops-dev/chatops/bot/config"
	"github.com/chatops-dev/chatops/plugins/run/policy"
)

// jobPolicy turns [jobs.<name>] and [projects.<alias>.jobs.<name>] into
// the run plugin's rules, the projects' keyed by path as the plugin
// names projects.
func jobPolicy(cfg *config.Config) policy.Set {
	rule := func(j config.Job) policy.Rule {
		return policy.Rule{MinRole: j.MinRole, Users: j.Users, Groups: j.Groups, Channels: j.Channels, Confirm: j.Confirm, Variables: j.Variables}
	}
	s := policy.Set{Global: map[string]policy.Rule{}, Projects: map[string]map[string]policy.Rule{}}
	for name, j := range cfg.Jobs {
		s.Global[name] = rule(j)
	}
	for _, p := range cfg.Projects {
		if len(p.Jobs) == 0 {
			continue
		}
		rules := map[string]policy.Rule{}
		for name, j := range p.Jobs {
			rules[name] = rule(j)
		}
		s.Projects[p.Path] = rules
	}
	return s
}
