// Package slack is the Slack adapter: it connects over Socket Mode with
// slack-go (no public HTTP endpoint needed), turns app mentions, direct
// messages and the /chatops slash command into bot.Message, and posts
// replies as Block Kit messages in the command's thread, editing progress
// replies in place with chat.update.
package slack

import (
	"errors"
	"fmt"
	"github.com/chatops-dev/chatops/adapters/internal/keyedlock"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"

	"github.com/chatops-dev/chatops/adapters/internal/allow"
	"github.com/chatops-dev/chatops/adapters/internal/responseurl"
	"github.com/chatops-dev/chatops/bot"
)

// Production defaults for the tuning knobs in Config.
const (
	DefaultBackoffMin = time.Second
	DefaultBackoffMax = 2 * time.Minute
	// DefaultWatchdog is how long a connection may deliver nothing at all
	// (Slack pings every few seconds) before it is torn down.
	DefaultWatchdog = 45 * time.Second
	// stableAfter is how long a connection must have lived for the next
	// reconnect to start the backoff from the beginning again.
	stableAfter = 30 * time.Second
	// retireAfter bounds how long a replaced connection is kept reading
	// after the next one opened; Slack closes it about 10 seconds after
	// its warning.
	retireAfter = 30 * time.Second
)

// Config configures the Slack adapter ([slack] in the config file).
type Config struct {
	// AppToken is the app-level token (xapp-...) with connections:write,
	// used to open Socket Mode connections (key app_token).
	AppToken string
	// BotToken is the bot user OAuth token (xoxb-...) used for the Web API
	// (key bot_token).
	BotToken string
	// APIURL overrides Slack's Web API base URL, for tests and proxies; it
	// must end with "/" (key api_url). Empty means https://slack.com/api/.
	APIURL string
	// Logger receives the adapter's logs (default slog.Default()); pass
	// one carrying adapter=slack, the adapter adds no attributes of its
	// own. Tokens are never logged.
	Logger *slog.Logger

	// BackoffMin and BackoffMax bound the jittered exponential backoff
	// between reconnection attempts (defaults 1s and 2m).
	BackoffMin, BackoffMax time.Duration
	// Watchdog is how long a connection may stay open without delivering
	// any frame or ping before it is torn down and redialled (default 45s).
	Watchdog time.Duration
	// HTTPClient is used for the Web API (default: a client with a 30s
	// timeout).
	HTTPClient *http.Client
	// TeamIDs, when set, are the only workspaces whose events the bot
	// handles (key team_ids); others are ignored, each logged once.
	TeamIDs []string
}

// Adapter is the Slack adapter. It implements bot.Adapter, bot.Editor,
// bot.Whisperer, bot.DirectOpener and bot.StateReporter.
type Adapter struct {
	cfg   Config
	log   *slog.Logger
	teams *allow.List
	api   *slack.Client

	state atomic.Int32          // bot.ConnState
	self  atomic.Pointer[ident] // who the bot is, from auth.test
	conv  keyedlock.Map         // one send at a time per channel keeps order

	mu          sync.Mutex           // guards the Web API bookkeeping below
	methodLimit map[string]time.Time // Web API method -> end of its 429
	urlUses     responseurl.Uses     // response_url uses known to this process
}

// ident is the bot's own identity.
type ident struct{ userID, botID string }

// New validates cfg and returns an adapter; nothing is dialled until Run.
func New(cfg Config) (*Adapter, error) {
	if err := validate(cfg); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.BackoffMin <= 0 {
		cfg.BackoffMin = DefaultBackoffMin
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = DefaultBackoffMax
	}
	cfg.BackoffMax = max(cfg.BackoffMax, cfg.BackoffMin)
	if cfg.Watchdog <= 0 {
		cfg.Watchdog = DefaultWatchdog
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	a := &Adapter{cfg: cfg, log: cfg.Logger, teams: allow.New(cfg.TeamIDs, "Slack workspace", cfg.Logger)}
	opts := []slack.Option{
		slack.OptionAppLevelToken(cfg.AppToken),
		slack.OptionHTTPClient(cfg.HTTPClient),
		slack.OptionLog(libLogger{a.log}),
	}
	if cfg.APIURL != "" {
		opts = append(opts, slack.OptionAPIURL(cfg.APIURL))
	}
	a.api = slack.New(cfg.BotToken, opts...)
	a.state.Store(int32(bot.StateConnecting))
	return a, nil
}

// validate checks the config without ever echoing a token.
func validate(cfg Config) error {
	var errs []error
	switch {
	case cfg.AppToken == "":
		errs = append(errs, errors.New("slack: app_token is missing (an app-level token, xapp-..., with connections:write)"))
	case !strings.HasPrefix(cfg.AppToken, "xapp-"):
		errs = append(errs, errors.New("slack: app_token must be an app-level token starting with xapp- (Basic Information > App-Level Tokens)"))
	}
	switch {
	case cfg.BotToken == "":
		errs = append(errs, errors.New("slack: bot_token is missing (the Bot User OAuth Token, xoxb-...)"))
	case !strings.HasPrefix(cfg.BotToken, "xoxb-"):
		errs = append(errs, errors.New("slack: bot_token must be a bot token starting with xoxb- (OAuth & Permissions > Bot User OAuth Token)"))
	}
	if cfg.APIURL != "" {
		u, err := url.Parse(cfg.APIURL)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			errs = append(errs, fmt.Errorf("slack: api_url %q is not an http(s) URL", cfg.APIURL))
		case !strings.HasSuffix(cfg.APIURL, "/"):
			errs = append(errs, fmt.Errorf("slack: api_url %q must end with \"/\"", cfg.APIURL))
		}
	}
	return errors.Join(errs...)
}

// Name implements bot.Adapter.
func (a *Adapter) Name() string { return "slack" }

// State implements bot.StateReporter.
func (a *Adapter) State() bot.ConnState { return bot.ConnState(a.state.Load()) }

func (a *Adapter) setState(s bot.ConnState) {
	if old := bot.ConnState(a.state.Swap(int32(s))); old != s {
		a.log.Debug("connection state", "state", s.String())
	}
}

// libLogger forwards slack-go's own (debug) logging to slog.
type libLogger struct{ log *slog.Logger }

// Output implements slack-go's logger interface.
func (l libLogger) Output(_ int, s string) error {
	l.log.Debug(strings.TrimSpace(s), "source", "slack-go")
	return nil
}

// Compile-time checks of the capabilities the bot looks for.
var (
	_ bot.Adapter       = (*Adapter)(nil)
	_ bot.Editor        = (*Adapter)(nil)
	_ bot.StateReporter = (*Adapter)(nil)
)
