// Package policy decides whether a chat user may run one job here: the
// per-job rules of [jobs.<name>] and [projects.<alias>.jobs.<name>]. It is
// pure: the caller gathers the facts (the GitLab user and role, group
// membership) and this package only judges them, so every rule is
// covered by table tests without a GitLab.
package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/chatops-dev/chatops/bot"
)

// Rule is one job's policy. Every list that is set must admit the caller
// (deny by default): a job with users and groups runs only for a listed
// user who is also in one of the groups.
type Rule struct {
	// MinRole is the least project role: "developer", "maintainer" or
	// "owner" ("" adds nothing to the project's own min_role).
	MinRole string
	// Users are the GitLab usernames who may run the job.
	Users []string
	// Groups are GitLab group paths; the caller must be a member
	// (directly or inherited) of at least one.
	Groups []string
	// Channels are the conversations ("platform:channelID") the job may
	// run in.
	Channels []string
	// Confirm asks the requester to confirm before the job runs.
	Confirm bool
	// Variables are the pipeline variables the job takes from chat as
	// NAME=value arguments (see ChatVariables).
	Variables []string
}

// Levels are GitLab's access levels of the roles a Rule may name.
var Levels = map[string]int{"developer": 30, "maintainer": 40, "owner": 50}

// roleNames names levels in refusals as GitLab's permission tables do.
var roleNames = map[int]string{30: "Developer", 40: "Maintainer", 50: "Owner"}

// NeedsUser reports whether judging r needs the caller's GitLab user
// (role, username, groups); a rule with channels alone costs GitLab
// nothing.
func (r Rule) NeedsUser() bool {
	return r.MinRole != "" || len(r.Users) > 0 || len(r.Groups) > 0
}

// Caller is what a Rule is judged against.
type Caller struct {
	// Channel is the conversation, "platform:channelID".
	Channel string
	// Username is the caller's GitLab username and Level their access
	// level in the project (0 for a non-member); only read when the rule
	// NeedsUser.
	Username string
	Level    int
	// InGroup reports GitLab group membership; it is only called for the
	// rule's groups, one at a time until one admits the caller.
	InGroup func(group string) (bool, error)
}

// Check judges c against job's rule r. It returns nil when c may run the
// job, a *bot.Refusal naming the rule that refused, or the error InGroup
// returned. Channels are judged first: they need no GitLab call.
func Check(job string, r Rule, c Caller) error {
	if len(r.Channels) > 0 && !slices.Contains(r.Channels, c.Channel) {
		return &bot.Refusal{Title: "Job " + job + " cannot run here",
			Text: fmt.Sprintf("Its channels rule allows it only in %s.", strings.Join(r.Channels, ", "))}
	}
	if r.MinRole != "" {
		need, ok := Levels[strings.ToLower(r.MinRole)]
		if !ok {
			// A typo must not open the job to everyone.
			return &bot.Refusal{Title: "Job " + job + " has an invalid min_role",
				Text: fmt.Sprintf("%q is not developer, maintainer or owner; ask a chatops admin to fix the job's policy.", r.MinRole)}
		}
		if c.Level < need {
			return &bot.Refusal{Title: "You may not run " + job,
				Text: fmt.Sprintf("Its min_role rule needs the %s role; GitLab user %s has %s.", roleNames[need], c.Username, levelName(c.Level))}
		}
	}
	if len(r.Users) > 0 && !slices.Contains(r.Users, c.Username) {
		return &bot.Refusal{Title: "You may not run " + job,
			Text: fmt.Sprintf("Its users rule names the GitLab users who may run it, and %s is not one of them.", c.Username)}
	}
	if len(r.Groups) > 0 {
		for _, g := range r.Groups {
			in, err := c.InGroup(g)
			if err != nil {
				return err
			}
			if in {
				return nil
			}
		}
		return &bot.Refusal{Title: "You may not run " + job,
			Text: fmt.Sprintf("Its groups rule needs membership of %s; GitLab user %s is in none.", strings.Join(r.Groups, " or "), c.Username)}
	}
	return nil
}

func levelName(level int) string {
	best := "no role"
	for _, l := range []int{30, 40, 50} {
		if level >= l {
			best = roleNames[l]
		}
	}
	if level > 0 && level < 30 {
		return "a role below Developer"
	}
	return best
}

// Set holds the rules of every job: Global ([jobs.<name>]) and, per
// project path, the project's own ([projects.<alias>.jobs.<name>]).
type Set struct {
	Global   map[string]Rule
	Projects map[string]map[string]Rule
}

// For returns the rule of job in project: the project's own when it has
// one (it replaces the global one entirely, so a project can loosen as
// well as tighten), else the global one, else none (the zero Rule: the
// project's min_role alone decides).
func (s Set) For(project, job string) Rule {
	if r, ok := s.Projects[project][job]; ok {
		return r
	}
	return s.Global[job]
}
