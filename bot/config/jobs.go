package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// variableName is what GitLab accepts as a variable key.
var variableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// reservedVariables are set by the bot itself or by GitLab; a job may not
// take them from chat, or a chat user could overwrite what the job trusts.
var reservedVariables = []string{"CHAT_INPUT", "CHAT_CHANNEL", "CHAT_USER_ID"}

// reservedPrefixes are GitLab's predefined variables and the bot's own.
var reservedPrefixes = []string{"CI_", "GITLAB_", "CHATOPS_"}

// CheckVariableName says why name cannot be a variable a job takes from
// chat ([jobs.<name>] variables), or returns nil.
func CheckVariableName(name string) error {
	switch {
	case !variableName.MatchString(name):
		return fmt.Errorf("%q is not a variable name (letters, digits and _, not starting with a digit)", name)
	case slices.Contains(reservedVariables, name):
		return fmt.Errorf("%s is set by the bot itself", name)
	}
	for _, p := range reservedPrefixes {
		if strings.HasPrefix(name, p) {
			return fmt.Errorf("%s starts with %s, which GitLab or the bot reserves", name, p)
		}
	}
	return nil
}

// checkJobs checks the per-job policies under the table path (["jobs"] or
// ["projects", alias, "jobs"]). A mistyped rule must stop the bot at
// start: at run time it would refuse everyone (an unknown role) or
// nobody would notice it never matched (a channel without a platform).
func checkJobs(text string, path []string, jobs map[string]Job) []Problem {
	var ps []Problem
	for name, j := range jobs {
		sec := strings.Join(append(append([]string(nil), path...), name), ".")
		key := func(k string) []string { return append(append(append([]string(nil), path...), name), k) }
		switch strings.ToLower(j.MinRole) {
		case "", "developer", "maintainer", "owner":
		default:
			ps = append(ps, Problem{Line: lineOf(text, key("min_role")), Key: []string{sec, "min_role"},
				What: fmt.Sprintf("%q is not a role chatops knows", j.MinRole), Fix: `min_role = "maintainer" (or "developer", "owner")`})
		}
		for _, ch := range j.Channels {
			if !identityKey.MatchString(ch) {
				ps = append(ps, Problem{Line: lineOf(text, key("channels")), Key: []string{sec, "channels"},
					What: fmt.Sprintf("%q must be \"platform:channelID\" with platform shell, slack, mattermost or discord", ch), Fix: `channels = ["slack:C0123ABCD"]`})
			}
		}
		for _, v := range j.Variables {
			if err := CheckVariableName(v); err != nil {
				ps = append(ps, Problem{Line: lineOf(text, key("variables")), Key: []string{sec, "variables"},
					What: err.Error(), Fix: `variables = ["VERSION", "DRY_RUN"]`})
			}
		}
		for _, list := range [][2]any{{"users", j.Users}, {"groups", j.Groups}} {
			for _, v := range list[1].([]string) {
				if strings.TrimSpace(v) == "" {
					ps = append(ps, Problem{Line: lineOf(text, key(list[0].(string))), Key: []string{sec, list[0].(string)},
						What: "holds an empty name", Fix: "remove the empty entry"})
				}
			}
		}
	}
	return ps
}
