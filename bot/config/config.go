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
	"regexp"
	"slices"
	"strings"
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
	Shell      *Shell             `toml:"shell"`
	Slack      *Slack             `toml:"slack"`
	Mattermost *Mattermost        `toml:"mattermost"`
	Discord    *Discord           `toml:"discord"`
}

// Bot is the [bot] section.
type Bot struct {
	// Name is how users address the bot in help texts (default "chatops").
	Name string `toml:"name"`
	// Workers bounds concurrent commands (default 64).
	Workers int `toml:"workers"`
	// ShutdownGrace is how long running commands get after SIGTERM (default 30s).
	ShutdownGrace Duration `toml:"shutdown_grace"`
	// HealthAddr is the former name of [http] addr, still accepted.
	HealthAddr string `toml:"health_addr"`
	// CatchUp is how old a command missed while the bot was away may be
	// and still run when the bot sees it (Mattermost catch-up; default 5m).
	// Older ones are answered that they were not run.
	CatchUp Duration `toml:"catch_up"`
}

// HTTP is the [http] section: the one listener for /healthz and the
// GitLab webhook.
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
}

// ReservedNames are the command names a project alias may not take.
var ReservedNames = []string{"help", "ping", "run", "runs", "cancel", "retry", "again", "projects"}

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
}

// Mattermost is the [mattermost] section.
type Mattermost struct {
	URL   string `toml:"url"`
	Token string `toml:"token"`
}

// Discord is the [discord] section.
type Discord struct {
	Token  string `toml:"token"`
	APIURL string `toml:"api_url"`
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

// Load reads and validates the file at path.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := Parse(string(b), os.LookupEnv)
	if err != nil {
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
// in production). Unknown keys, wrong types and unset variables are errors
// that name the key and its line.
func Parse(text string, lookup func(string) (string, bool)) (*Config, error) {
	var cfg Config
	md, err := toml.Decode(text, &cfg)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("line %d: %s", pe.Position.Line, pe.Message)
		}
		return nil, err
	}
	if und := md.Undecoded(); len(und) > 0 {
		var msgs []string
		for _, k := range und {
			// Identity entries are free-form keys inside a map and decode;
			// anything left is a typo or an unsupported option.
			msgs = append(msgs, fmt.Sprintf("line %d: unknown key %q", lineOf(text, k), k.String()))
		}
		return nil, errors.New(strings.Join(msgs, "; "))
	}
	if err := expandAll(&cfg, text, lookup); err != nil {
		return nil, err
	}
	cfg.applyDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

func (c *Config) applyDefaults() {
	if c.Bot.Name == "" {
		c.Bot.Name = "chatops"
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
	}
}

var identityKey = regexp.MustCompile(`^(shell|slack|mattermost|discord):\S+$`)

func (c *Config) validate() error {
	var errs []error
	need := func(section, key, v string) {
		if strings.TrimSpace(v) == "" {
			errs = append(errs, fmt.Errorf("[%s] %s is required", section, key))
		}
	}
	if c.GitLab != nil {
		need("gitlab", "url", c.GitLab.URL)
		need("gitlab", "token", c.GitLab.Token)
		if len(c.Projects) == 0 {
			need("gitlab", "project", c.GitLab.Project)
		}
	}
	if len(c.Projects) > 0 && c.GitLab == nil {
		errs = append(errs, errors.New("[projects] need a [gitlab] section with url and token"))
	}
	for alias, p := range c.Projects {
		need("projects."+alias, "path", p.Path)
		if slices.Contains(ReservedNames, strings.ToLower(alias)) {
			errs = append(errs, fmt.Errorf("[projects.%s]: %q is a command name; choose another alias", alias, alias))
		}
		if strings.ContainsAny(alias, " \t") {
			errs = append(errs, fmt.Errorf("[projects.%s]: an alias is one word", alias))
		}
		for _, ch := range p.Channels {
			if !identityKey.MatchString(ch) {
				errs = append(errs, fmt.Errorf("[projects.%s] channels: %q must be \"platform:channelID\" with platform shell, slack, mattermost or discord", alias, ch))
			}
		}
	}
	if c.GitLab != nil {
		switch strings.ToLower(c.GitLab.MinRole) {
		case "developer", "maintainer", "owner":
		default:
			errs = append(errs, fmt.Errorf("[gitlab] min_role must be developer, maintainer or owner, not %q", c.GitLab.MinRole))
		}
	}
	if c.Bot.HealthAddr != "" && c.HTTP.Addr != c.Bot.HealthAddr {
		errs = append(errs, fmt.Errorf("[bot] health_addr (%s) and [http] addr (%s) differ: keep only [http] addr, which serves /healthz and the webhook", c.Bot.HealthAddr, c.HTTP.Addr))
	}
	if c.GitLab != nil && c.GitLab.WebhookSecret != "" && c.HTTP.Addr == "" {
		errs = append(errs, errors.New("[gitlab] webhook_secret needs [http] addr: GitLab posts its webhooks there, at /hooks/gitlab"))
	}
	if u := c.Store.URL; u != "" && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		errs = append(errs, fmt.Errorf("[store] url must be a PostgreSQL URL (postgres://...), not %q", u))
	}
	if c.Slack != nil {
		need("slack", "app_token", c.Slack.AppToken)
		need("slack", "bot_token", c.Slack.BotToken)
	}
	if c.Mattermost != nil {
		need("mattermost", "url", c.Mattermost.URL)
		need("mattermost", "token", c.Mattermost.Token)
	}
	if c.Discord != nil {
		need("discord", "token", c.Discord.Token)
	}
	for k, v := range c.Identities {
		if !identityKey.MatchString(k) {
			errs = append(errs, fmt.Errorf("[identities] key %q must be \"platform:userID\" with platform shell, slack, mattermost or discord", k))
		}
		if strings.TrimSpace(v) == "" {
			errs = append(errs, fmt.Errorf("[identities] %q maps to an empty GitLab username", k))
		}
	}
	if c.Slack == nil && c.Mattermost == nil && c.Discord == nil && c.Shell == nil {
		errs = append(errs, errors.New("no adapter is enabled: add a [shell], [slack], [mattermost] or [discord] section"))
	}
	return errors.Join(errs...)
}
