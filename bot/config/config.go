// Package config loads chatops' TOML configuration: one section per
// adapter (present means enabled), the GitLab connection and the identity
// map. Secrets are written as ${ENV_VAR} and expanded at load time, so the
// file itself can be committed.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the whole file.
type Config struct {
	Bot        Bot                `toml:"bot"`
	Log        Log                `toml:"log"`
	HTTP       HTTP               `toml:"http"`
	Store      Store              `toml:"store"`
	GitLab     *GitLab            `toml:"gitlab"`
	Projects   map[string]Project `toml:"projects"`
	Identities map[string]string  `toml:"identities"`
	// Jobs are the per-job policies, [jobs.<name>], for every project
	// that has none of its own for that job.
	Jobs       map[string]Job `toml:"jobs"`
	Shell      *Shell         `toml:"shell"`
	Slack      *Slack         `toml:"slack"`
	Mattermost *Mattermost    `toml:"mattermost"`
	Discord    *Discord       `toml:"discord"`
}

// Bot is the [bot] section.
type Bot struct {
	// Name is how users address the bot in help texts (default "chatops").
	Name string `toml:"name"`
	// Workers bounds concurrent commands (default 64).
	Workers int `toml:"workers"`
	// Queue bounds the commands waiting for a worker (default 256); when
	// it is full senders are told the bot is busy.
	Queue int `toml:"queue"`
	// ShutdownGrace is how long running commands get after SIGTERM (default 30s).
	ShutdownGrace Duration `toml:"shutdown_grace"`
	// PerUserConcurrent, PerUserPerMinute and PerUserBurst limit one
	// chat user's commands (defaults 4 at once, 30 a minute, bursts of
	// 10): one user's flood cannot starve the others.
	PerUserConcurrent int     `toml:"per_user_concurrent"`
	PerUserPerMinute  float64 `toml:"per_user_per_minute"`
	PerUserBurst      int     `toml:"per_user_burst"`
	// HealthAddr is the former name of [http] addr, still accepted.
	HealthAddr string `toml:"health_addr"`
	// CatchUp is how old a command missed while the bot was away may be
	// and still run when the bot sees it (Mattermost catch-up; default 5m).
	// Older ones are answered that they were not run.
	CatchUp Duration `toml:"catch_up"`
	// ConfirmTimeout is how long a job with confirm = true waits for its
	// requester's confirmation (default 5m).
	ConfirmTimeout Duration `toml:"confirm_timeout"`
}

// HTTP is the [http] section: the one listener for /healthz, the
// GitLab webhook and Mattermost's slash commands.
type HTTP struct {
	// Addr, when set, is the listen address, e.g. "127.0.0.1:8080".
	Addr string `toml:"addr"`
}

// Store is the [store] section: where runs and event claims are kept.
type Store struct {
	// Path is the SQLite file (default chatops.db beside the config file).
	Path string `toml:"path"`
	// URL, when set, is a PostgreSQL URL ("postgres://..."): the store
	// for several replicas. It takes the place of Path.
	URL string `toml:"url"`
	// Lease is how long a run stays with the replica following it
	// without a renewal (default 10s, renewed every third of it): a
	// replica that dies has its runs taken over within about Lease and a
	// third.
	Lease Duration `toml:"lease"`
	// SecretKey encrypts linked users' GitLab tokens at rest: 32 bytes as
	// base64 or hex, normally "${CHATOPS_SECRET_KEY}". Required when
	// [gitlab] oauth_client_id is set.
	SecretKey string `toml:"secret_key"`
}

// Log is the [log] section.
type Log struct {
	// Level is debug, info, warn or error (default info).
	Level string `toml:"level"`
	// Format is text or json (default text).
	Format string `toml:"format"`
}

// GitLab is the [gitlab] section.
type GitLab struct {
	URL          string   `toml:"url"`
	Token        string   `toml:"token"`
	Project      string   `toml:"project"`
	PollInterval Duration `toml:"poll_interval"`
	ReplyTimeout Duration `toml:"reply_timeout"`
	MinRole      string   `toml:"min_role"`
	// PlayManual plays a manual job after creating its pipeline (default true).
	PlayManual *bool `toml:"play_manual"`
	// Refs are the patterns of refs besides the default branch that the
	// default project's jobs may run on (job@ref); default none.
	Refs []string `toml:"refs"`
	// WebhookSecret turns on GitLab webhooks: the secret token GitLab
	// sends in X-Gitlab-Token to [http] addr at /hooks/gitlab.
	WebhookSecret string `toml:"webhook_secret"`
	// WebhookPollInterval is the backup poll while webhooks are on
	// (default 30s).
	WebhookPollInterval Duration `toml:"webhook_poll_interval"`
	// RequestTimeout bounds how long GitLab may take to start answering
	// one request (default 30s); MaxRetryWait caps a Retry-After it asks
	// for (default 10s).
	RequestTimeout Duration `toml:"request_timeout"`
	MaxRetryWait   Duration `toml:"max_retry_wait"`
	// LogWait bounds how long a successful job's incomplete log is read
	// again (default 5m, as GitLab); LogInterval is the first wait between
	// reads (default 2s), doubling, and reading stops once the log stopped
	// growing.
	LogWait     Duration `toml:"log_wait"`
	LogInterval Duration `toml:"log_interval"`
	// ReplyFile is the file a successful job may keep as an artifact
	// (artifacts: paths) to give its reply instead of its log's sections:
	// a path relative to the job's directory (default DefaultReplyFile);
	// "" turns reply files off.
	ReplyFile *string `toml:"reply_file"`
	// OAuthClientID turns on self-service linking (`link`): the
	// application id of a non-confidential GitLab OAuth application with
	// the api scope and the device flow. See identity.go.
	OAuthClientID string `toml:"oauth_client_id"`
	// ActAs decides what a chat user without a linked GitLab account may
	// do: "bot" (default: [identities] and the role check, pipelines made
	// by the bot's user), "user" (refuse and point to `link`) or "sudo"
	// (the admin token with the Sudo header, self-managed GitLab).
	ActAs string `toml:"act_as"`
}

// Project is a [projects.<alias>] table: one more GitLab project, named
// in chat by its alias or path ("@chatops api run deploy").
type Project struct {
	// Path is "group/project" or the numeric id.
	Path string `toml:"path"`
	// Token is the project's own token (a project or group access token);
	// default: [gitlab] token.
	Token string `toml:"token"`
	// Channels are the conversations where `run` means this project:
	// "slack:C0123", "mattermost:<channel id>", "discord:<channel id>".
	Channels []string `toml:"channels"`
	// Refs are the patterns of refs besides the default branch that jobs
	// may run on (job@ref); default none.
	Refs []string `toml:"refs"`
	// Jobs are this project's per-job policies,
	// [projects.<alias>.jobs.<name>]; one replaces [jobs.<name>] for the
	// project entirely.
	Jobs map[string]Job `toml:"jobs"`
}

// Job is a per-job policy, [jobs.<name>] or
// [projects.<alias>.jobs.<name>]. Every list that is set must admit the
// caller (deny by default).
type Job struct {
	// MinRole is the least project role: developer, maintainer or owner.
	MinRole string `toml:"min_role"`
	// Users are the GitLab usernames who may run the job.
	Users []string `toml:"users"`
	// Groups are GitLab group paths; the caller must be a member of one.
	Groups []string `toml:"groups"`
	// Channels are the conversations ("platform:channelID") it may run in.
	Channels []string `toml:"channels"`
	// Confirm asks the requester to confirm before the job runs.
	Confirm bool `toml:"confirm"`
	// Variables are pipeline variables the job takes from chat as
	// NAME=value arguments (run deploy production VERSION=1.2).
	Variables []string `toml:"variables"`
}

// DefaultReplyFile is [gitlab] reply_file when unset, the name the
// gitlab package gives it too (gitlab.DefaultReplyFile).
const DefaultReplyFile = "chat_reply.md"

// ReplyFileName is [gitlab] reply_file, DefaultReplyFile when unset (""
// when reply files are off).
func (g *GitLab) ReplyFileName() string {
	if g == nil || g.ReplyFile == nil {
		return DefaultReplyFile
	}
	return *g.ReplyFile
}

// ReservedNames are the command names a project alias may not take.
var ReservedNames = []string{"help", "ping", "version", "run", "runs", "cancel", "retry", "again", "projects", "confirm",
	"issue", "deploy", "link", "unlink", "whoami"}

// Shell is the [shell] section: the terminal adapter.
type Shell struct {
	// User is the user id the terminal speaks as (default: the OS user).
	User string `toml:"user"`
}

// Slack is the [slack] section.
type Slack struct {
	AppToken string `toml:"app_token"`
	BotToken string `toml:"bot_token"`
	APIURL   string `toml:"api_url"`
	// TeamIDs, when set, are the only workspaces the bot answers in.
	TeamIDs []string `toml:"team_ids"`
}

// Mattermost is the [mattermost] section.
type Mattermost struct {
	URL   string `toml:"url"`
	Token string `toml:"token"`
	// TeamIDs, when set, are the only teams the bot answers in (direct
	// messages are always served).
	TeamIDs []string `toml:"team_ids"`
	// SlashTokens, when set, turns on custom slash commands: the tokens
	// Mattermost shows for the commands posting to [http] addr at
	// /mattermost/command (one per team).
	SlashTokens []string `toml:"slash_tokens"`
	// SiteURL is the server's Site URL when it differs from URL: slash
	// commands' response URLs are posted to only on either's host.
	SiteURL string `toml:"site_url"`
}

// Discord is the [discord] section.
type Discord struct {
	Token  string `toml:"token"`
	APIURL string `toml:"api_url"`
	// GuildIDs, when set, are the only guilds (servers) the bot answers
	// in (direct messages are always served).
	GuildIDs []string `toml:"guild_ids"`
}

// Duration is a time.Duration written as a Go duration string ("2s", "1h").
type Duration struct{ time.Duration }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration (use forms like 2s, 5m, 1h): %q", b)
	}
	if v < 0 {
		return fmt.Errorf("duration must not be negative: %q", b)
	}
	d.Duration = v
	return nil
}

// Load reads and validates the file at path. Its errors name the file,
// then every problem found (a Problems), one per line.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := Parse(string(b), os.LookupEnv)
	if err != nil {
		var ps Problems
		if errors.As(err, &ps) && len(ps) > 1 {
			return nil, fmt.Errorf("config %s has %d problems:\n%w", path, len(ps), err)
		}
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	// A relative store file lives beside the configuration, wherever the
	// bot is started from.
	if !filepath.IsAbs(cfg.Store.Path) {
		cfg.Store.Path = filepath.Join(filepath.Dir(path), cfg.Store.Path)
	}
	return cfg, nil
}

// Parse decodes TOML text. lookup resolves ${VAR} references (os.LookupEnv
// in production). Every error is a Problems: unknown keys, wrong types,
// bad durations and URLs, unset variables, missing keys, each naming the
// key and its line with the fix.
func Parse(text string, lookup func(string) (string, bool)) (*Config, error) {
	var cfg Config
	md, err := toml.Decode(text, &cfg)
	if err != nil {
		// The decoder stops at its first error: that one is all we know.
		return nil, Problems{decodeProblem(err)}
	}
	// Identity entries are free-form keys inside a map and decode;
	// anything left is a typo or an unsupported option.
	problems := unknownKeys(text, md.Undecoded())
	problems = append(problems, expandAll(&cfg, text, lookup)...)
	cfg.applyDefaults()
	problems = append(problems, cfg.validate(text)...)
	if len(problems) > 0 {
		sort.SliceStable(problems, func(i, j int) bool { return problems[i].Line < problems[j].Line })
		return nil, problems
	}
	return &cfg, nil
}

func (c *Config) applyDefaults() {
	if c.Bot.Name == "" {
		c.Bot.Name = "chatops"
	}
	if c.Bot.ConfirmTimeout.Duration == 0 {
		c.Bot.ConfirmTimeout.Duration = 5 * time.Minute
	}
	if c.Bot.CatchUp.Duration == 0 {
		c.Bot.CatchUp.Duration = 5 * time.Minute
	}
	if c.HTTP.Addr == "" {
		c.HTTP.Addr = c.Bot.HealthAddr
	}
	if c.Store.Path == "" {
		c.Store.Path = "chatops.db"
	}
	if c.Store.Lease.Duration == 0 {
		c.Store.Lease.Duration = 10 * time.Second
	}
	if c.GitLab != nil {
		if c.GitLab.PollInterval.Duration == 0 {
			c.GitLab.PollInterval.Duration = 2 * time.Second
		}
		if c.GitLab.ReplyTimeout.Duration == 0 {
			c.GitLab.ReplyTimeout.Duration = time.Hour
		}
		if c.GitLab.WebhookPollInterval.Duration == 0 {
			c.GitLab.WebhookPollInterval.Duration = 30 * time.Second
		}
		if c.GitLab.MinRole == "" {
			c.GitLab.MinRole = "developer"
		}
		if c.GitLab.PlayManual == nil {
			t := true
			c.GitLab.PlayManual = &t
		}
		if c.GitLab.ReplyFile == nil {
			f := DefaultReplyFile
			c.GitLab.ReplyFile = &f
		}
	}
}
