package config

import (
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// identityKey is the shape of "platform:id" keys ([identities], channels).
var identityKey = regexp.MustCompile(`^(shell|slack|mattermost|discord):\S+$`)

func (c *Config) validate(text string) Problems {
	var ps Problems
	at := func(key ...string) int { return lineOf(text, key) }
	need := func(section, key, v, example string) {
		if strings.TrimSpace(v) == "" {
			line := at(section, key)
			if line == 0 {
				line = at(section) // the key is absent: point at its section
			}
			ps = append(ps, Problem{Line: line, Key: []string{section, key}, What: "is required", Fix: fmt.Sprintf("%s = %q", key, example)})
		}
	}
	url := func(section, key, v, example string) {
		if p := checkURL(text, []string{section, key}, v, example); p != nil {
			ps = append(ps, *p)
		}
	}
	if c.GitLab != nil {
		need("gitlab", "url", c.GitLab.URL, "https://gitlab.example.com")
		url("gitlab", "url", c.GitLab.URL, "https://gitlab.example.com")
		need("gitlab", "token", c.GitLab.Token, "${GITLAB_TOKEN}")
		if len(c.Projects) == 0 {
			need("gitlab", "project", c.GitLab.Project, "group/project")
		}
	}
	if len(c.Projects) > 0 && c.GitLab == nil {
		ps = append(ps, Problem{What: "[projects] need a [gitlab] section", Fix: "add [gitlab] with url and token"})
	}
	// refs are path.Match patterns; a malformed one never matches (the
	// error is all path.Match says of it), so it would refuse the refs
	// the operator meant to allow without a word.
	badRefs := func(key []string, refs []string) {
		for _, pat := range refs {
			if _, err := path.Match(pat, ""); err != nil {
				ps = append(ps, Problem{Line: at(key...), Key: key,
					What: fmt.Sprintf("%q is not a valid pattern (%v)", pat, err), Fix: `refs = ["v*", "release/[0-9]*"] (path.Match patterns: *, ?, [a-z]; close every [)`})
			}
		}
	}
	if c.GitLab != nil {
		badRefs([]string{"gitlab", "refs"}, c.GitLab.Refs)
	}
	// One GitLab project named twice would get two rule sets (a job's
	// policy sidestepped through the other name) and two commands of one
	// name; only the same spelling can be caught here (a numeric id and a
	// path of one project cannot, offline).
	named := map[string]string{}
	if c.GitLab != nil && c.GitLab.Project != "" {
		named[strings.ToLower(strings.Trim(c.GitLab.Project, "/ "))] = "[gitlab] project"
	}
	for _, alias := range slices.Sorted(maps.Keys(c.Projects)) {
		sec := "projects." + alias
		key := strings.ToLower(strings.Trim(c.Projects[alias].Path, "/ "))
		if key == "" {
			continue
		}
		if other, ok := named[key]; ok {
			ps = append(ps, Problem{Line: at(sec, "path"), Key: []string{sec, "path"},
				What: fmt.Sprintf("%q is already configured as %s: one project would have two names and two sets of job rules", c.Projects[alias].Path, other),
				Fix:  "configure each GitLab project once; give it one alias"})
			continue
		}
		named[key] = "[" + sec + "]"
	}
	for alias, p := range c.Projects {
		sec := "projects." + alias
		badRefs([]string{sec, "refs"}, p.Refs)
		need(sec, "path", p.Path, "group/project")
		if slices.Contains(ReservedNames, strings.ToLower(alias)) || strings.ContainsAny(alias, " \t") {
			ps = append(ps, Problem{Line: at(sec), Key: []string{sec},
				What: fmt.Sprintf("%q is a command name or not one word, so chat could not name the project", alias), Fix: "choose another alias, such as [projects.api]"})
		}
		for _, ch := range p.Channels {
			if !identityKey.MatchString(ch) {
				ps = append(ps, Problem{Line: at(sec, "channels"), Key: []string{sec, "channels"},
					What: fmt.Sprintf("%q must be \"platform:channelID\" with platform shell, slack, mattermost or discord", ch), Fix: `channels = ["slack:C0123ABCD"]`})
			}
		}
	}
	if c.GitLab != nil {
		switch strings.ToLower(c.GitLab.MinRole) {
		case "developer", "maintainer", "owner":
		default:
			ps = append(ps, Problem{Line: at("gitlab", "min_role"), Key: []string{"gitlab", "min_role"},
				What: fmt.Sprintf("%q is not a role chatops knows", c.GitLab.MinRole), Fix: `min_role = "developer" (or "maintainer", "owner")`})
		}
	}
	// logging.go falls back to info-level text on a value it does not
	// know; a typo would silently hide the debug logs or the JSON the
	// operator asked for, so it is refused here.
	switch strings.ToLower(c.Log.Level) {
	case "", "debug", "info", "warn", "error":
	default:
		ps = append(ps, Problem{Line: at("log", "level"), Key: []string{"log", "level"},
			What: fmt.Sprintf("%q is not a log level", c.Log.Level), Fix: `level = "info" (or "debug", "warn", "error")`})
	}
	switch c.Log.Format {
	case "", "text", "json":
	default:
		ps = append(ps, Problem{Line: at("log", "format"), Key: []string{"log", "format"},
			What: fmt.Sprintf("%q is not a log format", c.Log.Format), Fix: `format = "text" (or "json")`})
	}
	if c.GitLab != nil && c.GitLab.ReplyFile != nil {
		if what := checkReplyFile(*c.GitLab.ReplyFile); what != "" {
			ps = append(ps, Problem{Line: at("gitlab", "reply_file"), Key: []string{"gitlab", "reply_file"},
				What: what, Fix: `reply_file = "chat_reply.md" (a path as in the job's artifacts: paths), or "" to turn reply files off`})
		}
	}
	ps = append(ps, c.validateLinking(at)...)
	if c.Bot.HealthAddr != "" && c.HTTP.Addr != c.Bot.HealthAddr {
		ps = append(ps, Problem{Line: at("bot", "health_addr"), Key: []string{"bot", "health_addr"},
			What: fmt.Sprintf("%s differs from [http] addr %s", c.Bot.HealthAddr, c.HTTP.Addr),
			Fix:  "remove health_addr and keep only [http] addr, which serves /healthz, /readyz, /metrics and the webhook"})
	}
	if c.GitLab != nil && c.GitLab.WebhookSecret != "" && c.HTTP.Addr == "" {
		ps = append(ps, Problem{Line: at("gitlab", "webhook_secret"), Key: []string{"gitlab", "webhook_secret"},
			What: "webhooks need the HTTP listener, where GitLab posts them (at /hooks/gitlab)", Fix: `add [http] addr = ":8080"`})
	}
	if u := c.Store.URL; u != "" && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		ps = append(ps, Problem{Line: at("store", "url"), Key: []string{"store", "url"},
			What: "is not a PostgreSQL URL", Fix: `url = "postgres://user:${PGPASSWORD}@host/chatops", or remove it to use the SQLite file`})
	}
	if l := c.Store.Lease.Duration; l < time.Second {
		ps = append(ps, Problem{Line: at("store", "lease"), Key: []string{"store", "lease"},
			What: fmt.Sprintf("%s is too short: a replica renews its leases every third of it", l), Fix: `lease = "10s" (at least "1s")`})
	}
	if c.Slack != nil {
		need("slack", "app_token", c.Slack.AppToken, "${SLACK_APP_TOKEN}")
		need("slack", "bot_token", c.Slack.BotToken, "${SLACK_BOT_TOKEN}")
		url("slack", "api_url", c.Slack.APIURL, "https://slack.com/api/")
		if u := c.Slack.APIURL; u != "" && !strings.HasSuffix(u, "/") && checkURL(text, []string{"slack", "api_url"}, u, "") == nil {
			ps = append(ps, Problem{Line: at("slack", "api_url"), Key: []string{"slack", "api_url"},
				What: "must end with /", Fix: fmt.Sprintf("api_url = %q", u+"/")})
		}
	}
	if c.Mattermost != nil {
		need("mattermost", "url", c.Mattermost.URL, "https://mattermost.example.com")
		url("mattermost", "url", c.Mattermost.URL, "https://mattermost.example.com")
		need("mattermost", "token", c.Mattermost.Token, "${MATTERMOST_TOKEN}")
		for _, entry := range c.Mattermost.SlashTokens {
			// "TOKEN" or "TEAM_ID:TOKEN" (adapters/mattermost.SplitSlashToken).
			team, tok, bound := strings.Cut(entry, ":")
			if !bound {
				tok = team
			}
			if strings.TrimSpace(tok) == "" || (bound && strings.TrimSpace(team) == "") {
				ps = append(ps, Problem{Line: at("mattermost", "slash_tokens"), Key: []string{"mattermost", "slash_tokens"},
					What: "holds an empty token or team", Fix: `slash_tokens = ["<team id>:${MATTERMOST_SLASH_TOKEN}"] with the token of each team's slash command (Integrations > Slash Commands)`})
				break
			}
		}
		if len(c.Mattermost.SlashTokens) > 0 && c.HTTP.Addr == "" {
			ps = append(ps, Problem{Line: at("mattermost", "slash_tokens"), Key: []string{"mattermost", "slash_tokens"},
				What: "slash commands need the HTTP listener, where Mattermost posts them (at /mattermost/command)", Fix: `add [http] addr = ":8080"`})
		}
	}
	if c.Discord != nil {
		need("discord", "token", c.Discord.Token, "${DISCORD_TOKEN}")
		url("discord", "api_url", c.Discord.APIURL, "https://discord.com")
	}
	for k, v := range c.Identities {
		if !identityKey.MatchString(k) {
			ps = append(ps, Problem{Line: at("identities", k), Key: []string{"identities", k},
				What: "must be \"platform:userID\" with platform shell, slack, mattermost or discord", Fix: `"slack:U0123ABCD" = "alice"`})
		}
		if strings.TrimSpace(v) == "" {
			ps = append(ps, Problem{Line: at("identities", k), Key: []string{"identities", k},
				What: "maps to an empty GitLab username", Fix: fmt.Sprintf("%q = \"<GitLab username>\"", k)})
		}
	}
	ps = append(ps, checkJobs(text, []string{"jobs"}, c.Jobs)...)
	for alias, p := range c.Projects {
		ps = append(ps, checkJobs(text, []string{"projects", alias, "jobs"}, p.Jobs)...)
	}
	if c.Slack == nil && c.Mattermost == nil && c.Discord == nil && c.Shell == nil {
		ps = append(ps, Problem{What: "no adapter is enabled", Fix: "add a [shell], [slack], [mattermost] or [discord] section"})
	}
	return ps
}

// checkReplyFile says what is wrong with a reply file's name, "" when
// nothing is: it is a path inside a job's artifacts archive, which holds
// paths relative to the job's directory.
func checkReplyFile(name string) string {
	if name == "" {
		return "" // reply files off
	}
	if strings.ContainsRune(name, 0) || !utf8.ValidString(name) {
		return fmt.Sprintf("%q is not a file name (NUL byte or invalid UTF-8)", name)
	}
	p := path.Clean(name)
	switch {
	case path.IsAbs(p):
		return fmt.Sprintf("%q is absolute: artifacts are kept by their path relative to the job's directory", name)
	case p == "." || p == ".." || strings.HasPrefix(p, "../") || strings.HasSuffix(name, "/"):
		return fmt.Sprintf("%q does not name a file inside the job's directory", name)
	}
	return ""
}
