// Package config loads chatops' TOML configuration: one section per
// adapter (present means enabled), the GitLab connection and the identity
// map. Secrets are written as ${ENV_VAR} and expanded at load time, so the
// file itself can be committed.
package config

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the whole file.
type Config struct {
	Bot        Bot               `toml:"bot"`
	Log        Log               `toml:"log"`
	GitLab     *GitLab           `toml:"gitlab"`
	Identities map[string]string `toml:"identities"`
	Shell      *Shell            `toml:"shell"`
	Slack      *Slack            `toml:"slack"`
	Mattermost *Mattermost       `toml:"mattermost"`
	Discord    *Discord          `toml:"discord"`
}

// Bot is the [bot] section.
type Bot struct {
	// Name is how users address the bot in help texts (default "chatops").
	Name string `toml:"name"`
	// Workers bounds concurrent commands (default 64).
	Workers int `toml:"workers"`
	// ShutdownGrace is how long running commands get after SIGTERM (default 30s).
	ShutdownGrace Duration `toml:"shutdown_grace"`
	// HealthAddr, when set, serves GET /healthz on this address
	// (e.g. "127.0.0.1:8080"): adapter states as JSON, 503 when one is down.
	HealthAddr string `toml:"health_addr"`
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
}

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
	if c.GitLab != nil {
		if c.GitLab.PollInterval.Duration == 0 {
			c.GitLab.PollInterval.Duration = 2 * time.Second
		}
		if c.GitLab.ReplyTimeout.Duration == 0 {
			c.GitLab.ReplyTimeout.Duration = time.Hour
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
		need("gitlab", "project", c.GitLab.Project)
		switch strings.ToLower(c.GitLab.MinRole) {
		case "developer", "maintainer", "owner":
		default:
			errs = append(errs, fmt.Errorf("[gitlab] min_role must be developer, maintainer or owner, not %q", c.GitLab.MinRole))
		}
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
