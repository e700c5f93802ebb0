package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParseFullConfig(t *testing.T) {
	text := `
[bot]
name = "opsbot"

[gitlab]
url = "https://gitlab.example.com"
token = "${GL_TOKEN}"
project = "group/app"
poll_interval = "5s"
play_manual = false

[identities]
"slack:U123" = "alice"
"discord:4242" = "bob"

[shell]

[slack]
app_token = "${SLACK_APP}"
bot_token = "xoxb-literal-$-kept"
`
	cfg, err := Parse(text, env(map[string]string{"GL_TOKEN": "glpat-x", "SLACK_APP": "xapp-1"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Bot.Name != "opsbot" || cfg.GitLab.Token != "glpat-x" || cfg.Slack.AppToken != "xapp-1" {
		t.Fatalf("unexpected values: %+v %+v %+v", cfg.Bot, cfg.GitLab, cfg.Slack)
	}
	if cfg.Slack.BotToken != "xoxb-literal-$-kept" {
		t.Fatalf("a bare $ must be kept: %q", cfg.Slack.BotToken)
	}
	if cfg.GitLab.PollInterval.Duration != 5*time.Second || cfg.GitLab.ReplyTimeout.Duration != time.Hour {
		t.Fatalf("durations: %v %v", cfg.GitLab.PollInterval, cfg.GitLab.ReplyTimeout)
	}
	if *cfg.GitLab.PlayManual {
		t.Fatal("play_manual = false was not kept")
	}
	if cfg.Shell == nil {
		t.Fatal("an empty [shell] section must enable the shell adapter")
	}
	if cfg.Mattermost != nil || cfg.Discord != nil {
		t.Fatal("absent sections must stay disabled")
	}
	if cfg.Identities["discord:4242"] != "bob" {
		t.Fatalf("identities: %v", cfg.Identities)
	}
}

func TestParseErrorsNameKeyAndLine(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{"unknown key", "[shell]\nuser = \"me\"\nusr = \"red\"\n", []string{"line 3: [shell] usr: unknown key; fix: did you mean user?"}},
		{"unknown section", "[shell]\n[slak]\napp_token = \"x\"\n", []string{"line 2: [slak]: unknown section; fix: did you mean slack?"}},
		{"wrong type", "[bot]\nworkers = \"many\"\n[shell]\n", []string{"line 2: [bot] workers: the value is a string but must be an integer; fix: write a number without quotes"}},
		{"wrong type bool", "[shell]\n[gitlab]\nplay_manual = \"yes\"\n", []string{"line 3: [gitlab] play_manual:", "play_manual = true"}},
		{"bad duration", "[gitlab]\nurl=\"https://u\"\ntoken=\"t\"\nproject=\"p\"\npoll_interval = \"soon\"\n[shell]\n", []string{"line 5: [gitlab] poll_interval: not a duration", `fix: write a duration in quotes, e.g. poll_interval = "30s"`}},
		{"unquoted duration", "[bot]\nshutdown_grace = 30\n[shell]\n", []string{"line 2: [bot] shutdown_grace:", `shutdown_grace = "30s"`}},
		{"bad url", "[shell]\n[gitlab]\nurl = \"gitlab.example.com\"\ntoken=\"t\"\nproject=\"p\"\n", []string{`line 3: [gitlab] url: "gitlab.example.com" is not an http(s) URL with a host; fix: url = "https://gitlab.example.com"`}},
		{"bad mattermost url", "[mattermost]\nurl = \"ftp://mm\"\ntoken=\"t\"\n", []string{"line 2: [mattermost] url:", "fix: url ="}},
		{"slack api_url slash", "[slack]\napp_token=\"a\"\nbot_token=\"b\"\napi_url=\"http://x/api\"\n", []string{`line 4: [slack] api_url: must end with /; fix: api_url = "http://x/api/"`}},
		{"several, one per line", "[bot]\nnme = \"x\"\n[gitlab]\nurl = \"x\"\ntoken = \"t\"\nproject = \"p\"\n[shell]\n", []string{"line 2: [bot] nme: unknown key; fix: did you mean name?\nline 4: [gitlab] url:"}},
		{"unset env", "[shell]\n[discord]\ntoken = \"${NOPE}\"\n", []string{"line 3: [discord] token: refers to ${NOPE}", "fix: export NOPE="}},
		{"missing required", "[slack]\napp_token = \"x\"\n", []string{"line 1: [slack] bot_token: is required; fix: bot_token = \"${SLACK_BOT_TOKEN}\""}},
		{"bad identity", "[shell]\n[identities]\n\"U123\" = \"alice\"\n", []string{"platform:userID"}},
		{"bad role", "[gitlab]\nurl=\"u\"\ntoken=\"t\"\nproject=\"p\"\nmin_role=\"guest\"\n[shell]\n", []string{"min_role"}},
		{"no adapter", "[bot]\nname = \"x\"\n", []string{"no adapter is enabled"}},
		{"job role", "[shell]\n[jobs.deploy]\nmin_role = \"admin\"\n", []string{`line 3: [jobs.deploy] min_role: "admin" is not a role`}},
		{"job channel", "[shell]\n[jobs.deploy]\nchannels = [\"C1\"]\n", []string{`line 3: [jobs.deploy] channels:`, "platform:channelID"}},
		{"job variable reserved", "[shell]\n[jobs.deploy]\nvariables = [\"CHAT_INPUT\"]\n", []string{`line 3: [jobs.deploy] variables: CHAT_INPUT is set by the bot itself`}},
		{"job variable predefined", "[shell]\n[jobs.deploy]\nvariables = [\"CI_JOB_TOKEN\"]\n", []string{`CI_JOB_TOKEN starts with CI_`}},
		{"job variable name", "[shell]\n[jobs.deploy]\nvariables = [\"1X\"]\n", []string{`"1X" is not a variable name`}},
		{"project job", "[shell]\n[gitlab]\nurl=\"https://u\"\ntoken=\"t\"\n[projects.api]\npath=\"g/api\"\n[projects.api.jobs.deploy]\ngroups = [\"\"]\n", []string{"line 8: [projects.api.jobs.deploy] groups: holds an empty name"}},
		{"confirm is reserved", "[shell]\n[gitlab]\nurl=\"https://u\"\ntoken=\"t\"\n[projects.confirm]\npath=\"g/api\"\n", []string{"command name"}},
		{"syntax", "[shell]\nuser = = 1\n", []string{"line 2"}},
		{"absolute reply_file", "[shell]\n[gitlab]\nurl=\"https://u\"\ntoken=\"t\"\nproject=\"p\"\nreply_file = \"/tmp/reply.md\"\n", []string{`line 6: [gitlab] reply_file: "/tmp/reply.md" is absolute`, `fix: reply_file = "chat_reply.md"`}},
		{"reply_file outside", "[shell]\n[gitlab]\nurl=\"https://u\"\ntoken=\"t\"\nproject=\"p\"\nreply_file = \"out/../../x.md\"\n", []string{`line 6: [gitlab] reply_file: "out/../../x.md" does not name a file inside the job's directory`}},
		{"slash commands without the listener", "[mattermost]\nurl = \"https://mm\"\ntoken = \"t\"\nslash_tokens = [\"abc\"]\n",
			[]string{"line 4: [mattermost] slash_tokens: slash commands need the HTTP listener, where Mattermost posts them (at /mattermost/command)", `fix: add [http] addr = ":8080"`}},
		{"empty slash token", "[http]\naddr = \":8080\"\n[mattermost]\nurl = \"https://mm\"\ntoken = \"t\"\nslash_tokens = [\"\"]\n",
			[]string{"line 6: [mattermost] slash_tokens: holds an empty token"}},
		{"slash token bound to no team", "[http]\naddr = \":8080\"\n[mattermost]\nurl = \"https://mm\"\ntoken = \"t\"\nslash_tokens = [\":abc\"]\n",
			[]string{"line 6: [mattermost] slash_tokens: holds an empty token or team"}},
		{"slash team without a token", "[http]\naddr = \":8080\"\n[mattermost]\nurl = \"https://mm\"\ntoken = \"t\"\nslash_tokens = [\"team1:\"]\n",
			[]string{"line 6: [mattermost] slash_tokens: holds an empty token or team"}},
		{"short lease", "[shell]\n[store]\nlease = \"100ms\"\n", []string{`line 3: [store] lease: 100ms is too short`, `fix: lease = "10s"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.text, env(nil))
			if err == nil {
				t.Fatal("expected an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// setting matches a commented-out section header or key = value line.
var setting = regexp.MustCompile(`^(\[[a-z.]+\]|"?[a-z_:0-9A-Z]+"? = .+)$`)

func TestExampleConfigLoads(t *testing.T) {
	path := filepath.Join("..", "..", "config.example.toml")
	if _, err := os.Stat(path); err != nil {
		t.Skip("config.example.toml not present")
	}
	t.Setenv("GITLAB_TOKEN", "glpat-test")
	t.Setenv("SLACK_APP_TOKEN", "xapp-test")
	t.Setenv("SLACK_BOT_TOKEN", "xoxb-test")
	t.Setenv("MATTERMOST_TOKEN", "mm-test")
	t.Setenv("DISCORD_TOKEN", "discord-test")
	cfg, err := Load(path)
	if err != nil {
		t.Fatalf("config.example.toml must load: %v", err)
	}
	if cfg.Slack != nil || cfg.Mattermost != nil || cfg.Discord != nil {
		t.Fatal("copied as is, the example must not switch on the chat platforms")
	}
	// Every documented key is valid: uncommenting the whole file loads too.
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "# "); ok && setting.MatchString(rest) {
			l = rest
		}
		lines = append(lines, l)
	}
	t.Setenv("PGPASSWORD", "pw")
	t.Setenv("GITLAB_WEBHOOK_SECRET", "hook-secret")
	t.Setenv("MATTERMOST_SLASH_TOKEN", "slash-token")
	t.Setenv("API_PROJECT_TOKEN", "glpat-api")
	t.Setenv("CHATOPS_SECRET_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	all := strings.Join(lines, "\n")
	all = strings.Replace(all, "health_addr = \"127.0.0.1:8080\"", "", 1) // an alias of addr: one of the two
	if _, err := Parse(all, os.LookupEnv); err != nil {
		t.Fatalf("the example with every key uncommented must parse: %v", err)
	}
}

func TestProjects(t *testing.T) {
	base := "[gitlab]\nurl = \"https://gitlab.example.com\"\ntoken = \"t\"\n[shell]\n"
	cfg, err := Parse(base+`
[projects.api]
path = "group/api"
token = "${API_TOKEN}"
channels = ["slack:C0123", "discord:42"]
refs = ["v*"]
`, env(map[string]string{"API_TOKEN": "glpat-api"}))
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Projects["api"]
	if p.Path != "group/api" || p.Token != "glpat-api" || len(p.Channels) != 2 || p.Refs[0] != "v*" {
		t.Fatalf("project %+v (the token must be expanded from the environment)", p)
	}
	if cfg.GitLab.Project != "" {
		t.Fatal("a default project appeared")
	}
	for name, tt := range map[string]struct{ text, want string }{
		"alias shadows a command": {"[projects.run]\npath = \"g/p\"\n", `"run" is a command name`},
		"no path":                 {"[projects.api]\ntoken = \"x\"\n", "path: is required"},
		"bad channel":             {"[projects.api]\npath = \"g/p\"\nchannels = [\"C0123\"]\n", `"C0123" must be "platform:channelID"`},
		"no gitlab":               {"[shell]\n[projects.api]\npath = \"g/p\"\n", "need a [gitlab] section"},
		"one project twice":       {"[projects.api]\npath = \"g/p\"\n[projects.app]\npath = \"G/P/\"\n", `"G/P/" is already configured as [projects.api]`},
	} {
		t.Run(name, func(t *testing.T) {
			text := base + tt.text
			if name == "no gitlab" {
				text = tt.text
			}
			_, err := Parse(text, env(nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestStoreLease(t *testing.T) {
	for text, want := range map[string]time.Duration{"[shell]\n": 10 * time.Second, "[shell]\n[store]\nlease = \"2s\"\n": 2 * time.Second} {
		cfg, err := Parse(text, env(nil))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Store.Lease.Duration != want {
			t.Errorf("%q: lease %s, want %s", text, cfg.Store.Lease.Duration, want)
		}
	}
}

func TestReplyFile(t *testing.T) {
	const base = "[shell]\n[gitlab]\nurl=\"https://u\"\ntoken=\"t\"\nproject=\"p\"\n"
	for text, want := range map[string]string{
		base:                                    DefaultReplyFile, // unset: on, as chat_reply.md
		base + "reply_file = \"\"\n":            "",               // off
		base + "reply_file = \"out/chat.md\"\n": "out/chat.md",
	} {
		cfg, err := Parse(text, env(nil))
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.GitLab.ReplyFileName(); got != want {
			t.Errorf("%q: reply file %q, want %q", text, got, want)
		}
	}
}

// TestLogLevelTypoIsAProblem: logging.go falls back to info-level text
// logs on a [log] level or format it does not know, so a typo must be
// refused with its line and the values allowed, like any other problem.
func TestLogLevelTypoIsAProblem(t *testing.T) {
	for text, want := range map[string][]string{
		"[shell]\n[log]\nlevel = \"debgu\"\n": {`line 3: [log] level: "debgu" is not a log level`, `fix: level = "info" (or "debug", "warn", "error")`},
		"[shell]\n[log]\nformat = \"jsn\"\n":  {`line 3: [log] format: "jsn" is not a log format`, `fix: format = "text" (or "json")`},
	} {
		_, err := Parse(text, env(nil))
		if err == nil {
			t.Errorf("accepted without a problem:\n%s", text)
			continue
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not mention %q", err, w)
			}
		}
	}
	for _, text := range []string{"[shell]\n[log]\nlevel = \"DEBUG\"\nformat = \"json\"\n", "[shell]\n[log]\nlevel = \"warn\"\nformat = \"text\"\n"} {
		if _, err := Parse(text, env(nil)); err != nil {
			t.Errorf("refused %q: %v", text, err)
		}
	}
}

// TestBadRefPatternIsAProblem: refs are path.Match patterns, and a
// malformed one (path.ErrBadPattern) never matches at run time, so the
// refs the operator meant to allow would be refused to every user
// without a word. It is a problem with its line, in [gitlab] and in
// [projects.x].
func TestBadRefPatternIsAProblem(t *testing.T) {
	for text, want := range map[string]string{
		"[shell]\n[gitlab]\nurl = \"https://gitlab.example.com\"\ntoken = \"t\"\nproject = \"g/p\"\nrefs = [\"v*\", \"release/[0-9\"]\n": `line 6: [gitlab] refs: "release/[0-9" is not a valid pattern`,
		"[shell]\n[gitlab]\nurl = \"https://gitlab.example.com\"\ntoken = \"t\"\n[projects.api]\npath = \"g/api\"\nrefs = [\"v[\"]\n":    `line 7: [projects.api] refs: "v[" is not a valid pattern`,
	} {
		_, err := Parse(text, env(nil))
		if err == nil {
			t.Errorf("accepted without a problem:\n%s", text)
		} else if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "fix: refs = ") {
			t.Errorf("error %q does not mention %q and a fix", err, want)
		}
	}
	if _, err := Parse("[shell]\n[gitlab]\nurl = \"https://gitlab.example.com\"\ntoken = \"t\"\nproject = \"g/p\"\nrefs = [\"v*\", \"release/[0-9]*\"]\n", env(nil)); err != nil {
		t.Errorf("valid patterns refused: %v", err)
	}
}
