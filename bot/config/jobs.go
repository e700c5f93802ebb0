package config

import (
	"fmt"
	"strings"
)

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
