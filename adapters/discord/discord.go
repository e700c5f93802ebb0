// Package discord connects chatops to Discord through the gateway with
// github.com/bwmarrin/discordgo: mentions and DMs, a /chatops application
// command answered within Discord's 3 seconds (deferred, then edited), and
// replies that reference the command's message.
package discord

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/chatops-dev/chatops/adapters/internal/allow"
	"github.com/chatops-dev/chatops/adapters/internal/keyedlock"
	"github.com/chatops-dev/chatops/bot"
)

// MaxMessageRunes is Discord's limit on one message's content.
const MaxMessageRunes = 2000

// Config configures the adapter.
type Config struct {
	// Token is the bot token, without the "Bot " prefix.
	Token string
	// APIURL replaces https://discord.com for tests and proxies, e.g.
	// http://127.0.0.1:8080.
	APIURL string
	// Logger receives the adapter's logs (default slog.Default()). The
	// token is never logged.
	Logger *slog.Logger

	// BackoffMin and BackoffMax bound the jittered exponential backoff
	// between connection attempts (defaults 1s and 2m).
	BackoffMin, BackoffMax time.Duration
	// Watchdog is how long the gateway may deliver nothing at all (no
	// event, no heartbeat ACK) before the connection is closed and the
	// session resumed on a new one (default 2m). A heartbeat that is not
	// acknowledged before the next one is due closes it too, as Discord
	// documents for zombied connections.
	Watchdog time.Duration
	// GuildIDs, when set, are the only guilds (servers) whose messages
	// and commands the bot handles; others are ignored (logged once each).
	// Direct messages are handled whatever the list.
	GuildIDs []string
	// MaxRateLimitWait bounds how long one REST call waits out 429s
	// (default 30s); a longer Retry-After fails the call (retryable) at
	// once instead of holding the conversation.
	MaxRateLimitWait time.Duration
}

// Adapter is the Discord adapter. It implements bot.Adapter, bot.Editor,
// bot.Whisperer, bot.DirectOpener and bot.StateReporter.
type Adapter struct {
	cfg    Config
	log    *slog.Logger
	guilds *allow.List
	state  atomic.Int32

	mu            sync.Mutex
	sess          *discordgo.Session // REST only; the adapter owns the gateway
	botID         string
	appID         string
	registered    bool
	botRoles      map[string]string    // guild -> the bot's managed role id
	chans         keyedlock.Map        // per channel: replies stay in order
	answers       map[string]time.Time // interaction tokens whose deferred answer was replaced, with their issue time
	undeliverable map[string]bool      // interaction tokens whose expiry was logged

	// now and invalidWait are the clock and the op 9 wait, replaceable
	// by tests.
	now         func() time.Time
	invalidWait func() time.Duration
}

// New validates cfg; the adapter connects in Run.
func New(cfg Config) (*Adapter, error) {
	cfg.Token = strings.TrimPrefix(strings.TrimSpace(cfg.Token), "Bot ")
	if cfg.Token == "" {
		return nil, errors.New("discord: token is required (the bot token from the developer portal)")
	}
	if cfg.APIURL != "" {
		if u, err := url.Parse(cfg.APIURL); err != nil || u.Host == "" {
			return nil, errors.New("discord: api_url must be a URL such as http://127.0.0.1:8080")
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.BackoffMin <= 0 {
		cfg.BackoffMin = time.Second
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = 2 * time.Minute
	}
	if cfg.Watchdog <= 0 {
		cfg.Watchdog = 2 * time.Minute
	}
	if cfg.MaxRateLimitWait <= 0 {
		cfg.MaxRateLimitWait = 30 * time.Second
	}
	return &Adapter{cfg: cfg, log: cfg.Logger, guilds: allow.New(cfg.GuildIDs, "Discord guild", cfg.Logger), answers: map[string]time.Time{}, botRoles: map[string]string{},
		undeliverable: map[string]bool{}, now: time.Now, invalidWait: invalidSessionWait}, nil
}

// Name implements bot.Adapter.
func (a *Adapter) Name() string { return "discord" }

// State implements bot.StateReporter.
func (a *Adapter) State() bot.ConnState { return bot.ConnState(a.state.Load()) }

func (a *Adapter) setState(s bot.ConnState) { a.state.Store(int32(s)) }

func (a *Adapter) session() *discordgo.Session {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sess
}

// newSession builds the discordgo session used for REST calls only (its
// gateway is never opened: the adapter runs its own, see conn.go); with
// APIURL set, every REST call is sent there instead of discord.com
// (discordgo's endpoints are package variables computed at init, so the
// transport rewrites the host).
func (a *Adapter) newSession() (*discordgo.Session, error) {
	s, err := discordgo.New("Bot " + a.cfg.Token)
	if err != nil {
		return nil, err
	}
	s.Identify.Intents = intents
	s.ShouldReconnectOnError = false
	// discordgo would sleep out a 429 without looking at the context and
	// without bound: the adapter waits itself (see rest in send.go).
	s.ShouldRetryOnRateLimit = false
	s.MaxRestRetries = 1
	s.LogLevel = -1 // discordgo's own logger prints to stderr; we log through slog
	client := &http.Client{Timeout: 30 * time.Second}
	if a.cfg.APIURL != "" {
		u, _ := url.Parse(a.cfg.APIURL)
		client.Transport = rewriteHost{base: http.DefaultTransport, scheme: u.Scheme, host: u.Host}
	}
	s.Client = client
	return s, nil
}

type rewriteHost struct {
	base         http.RoundTripper
	scheme, host string
}

func (t rewriteHost) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = t.scheme, t.host, t.host
	return t.base.RoundTrip(r)
}
