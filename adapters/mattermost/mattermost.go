// Package mattermost connects chatops to Mattermost as a bot account,
// through the server's own Go client (model.Client4 for the REST API and
// model.WebSocketClient for events). Mentions, DMs and thread replies are
// supported; posts missed while disconnected are fetched after a reconnect.
// Custom slash commands arrive over HTTP on the bot's listener (slash.go).
package mattermost

import (
	"context"
	"errors"
	"fmt"
	"github.com/chatops-dev/chatops/adapters/internal/keyedlock"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/chatops-dev/chatops/adapters/internal/allow"
	"github.com/chatops-dev/chatops/adapters/internal/responseurl"
	"github.com/chatops-dev/chatops/bot"
)

// MaxPostRunes is Mattermost's limit on one post's message.
const MaxPostRunes = 16383

// Config configures the adapter.
type Config struct {
	// URL is the server's base URL, e.g. https://mattermost.example.com.
	URL string
	// Token is the bot account's access token.
	Token string
	// Logger receives the adapter's logs (default slog.Default()). The
	// token is never logged.
	Logger *slog.Logger

	// BackoffMin and BackoffMax bound the jittered exponential backoff
	// between reconnection attempts (defaults 1s and 2m).
	BackoffMin, BackoffMax time.Duration
	// Watchdog is how long a websocket may stay silent (no event, no
	// response, no ping) before it is torn down and redialled (default
	// 90s). The adapter probes the server at a third of it.
	Watchdog time.Duration
	// MaxCatchUp bounds how far back posts are fetched after a reconnect
	// or a restart (default 1h): older posts are ignored.
	MaxCatchUp time.Duration
	// CatchUp is how old a command missed while the bot was away may be
	// and still run (default 5m). An older one within MaxCatchUp is
	// answered that it was missed and not run.
	CatchUp time.Duration
	// TeamIDs, when set, are the only teams whose posts the bot handles
	// (key team_ids); others are ignored, each logged once. Direct and
	// group messages belong to no team and are handled.
	TeamIDs []string
	// Cursors, when set, keeps the newest post seen across restarts (the
	// store), so commands posted while the process was down are caught
	// up after a restart, not only after a reconnect.
	Cursors Cursors
	// SlashTokens, when set, turns on custom slash commands (key
	// slash_tokens): the tokens Mattermost shows for the command(s)
	// whose Request URL is SlashPath on the bot's HTTP listener (see
	// Endpoints), each as "TOKEN" or bound to its team as
	// "TEAM_ID:TOKEN" (see SplitSlashToken). A request with another
	// token, with a bound token and another team, or naming a channel of
	// another team than its own, is refused (see slashchannel.go).
	SlashTokens []string
	// SiteURL is the server's Site URL (key site_url) when it differs
	// from URL (the bot reaching the server by an internal address): the
	// response URLs of slash commands are built on it, and only those on
	// URL's or SiteURL's host are posted to.
	SiteURL string
	// HookClient posts to slash commands' response URLs (default: a
	// client with a 30s timeout). Redirects are never followed.
	HookClient *http.Client
}

// Cursors keeps small named values; store.Store is one.
type Cursors interface {
	Cursor(ctx context.Context, key string) (string, error)
	SetCursor(ctx context.Context, key, value string) error
}

// Adapter is the Mattermost adapter. It implements bot.Adapter,
// bot.Editor, bot.DirectOpener, bot.Whisperer (slash commands only),
// bot.Endpoints and bot.StateReporter.
type Adapter struct {
	cfg    Config
	teams  *allow.List
	client *model.Client4
	wsURL  string
	log    *slog.Logger

	state atomic.Int32
	me    atomic.Pointer[model.User]

	// lastSeen is the create_at (ms) of the newest post seen, where a
	// catch-up after a reconnect starts.
	lastSeen atomic.Int64

	chans keyedlock.Map // per channel: replies stay in order

	// deliver is Run's, while Run runs: slash commands arrive over HTTP,
	// outside the connection's loop.
	deliver    atomic.Pointer[func(bot.Message)]
	hookUses   responseurl.Uses // response URL posts made by this process
	hookClient *http.Client
	// hookHosts are the hosts (host:port) response URLs may be on: URL's
	// and SiteURL's.
	hookHosts map[string]bool
	// slashChans are the slash commands' channels looked up (slashchannel.go).
	slashChans channelCache
}

// New validates cfg and returns an adapter; it connects in Run.
func New(cfg Config) (*Adapter, error) {
	if strings.TrimSpace(cfg.URL) == "" {
		return nil, errors.New("mattermost: url is required")
	}
	u, err := url.Parse(strings.TrimRight(cfg.URL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("mattermost: url %q must be an http(s) URL such as https://mattermost.example.com", cfg.URL)
	}
	if strings.TrimSpace(cfg.Token) == "" {
		return nil, errors.New("mattermost: token is required (the bot account's access token)")
	}
	for _, entry := range cfg.SlashTokens {
		team, tok := SplitSlashToken(entry)
		if tok == "" || (team == "" && strings.Contains(entry, ":")) {
			return nil, errors.New(`mattermost: slash_tokens holds an empty token or team ("TOKEN" or "TEAM_ID:TOKEN", the token from Integrations > Slash Commands)`)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	hookHosts := map[string]bool{strings.ToLower(u.Host): true}
	if cfg.SiteURL != "" {
		site, err := url.Parse(cfg.SiteURL)
		if err != nil || (site.Scheme != "http" && site.Scheme != "https") || site.Host == "" {
			return nil, fmt.Errorf("mattermost: site_url %q must be an http(s) URL such as https://chat.example.com", cfg.SiteURL)
		}
		hookHosts[strings.ToLower(site.Host)] = true
	}
	hookClient := &http.Client{Timeout: 30 * time.Second}
	if cfg.HookClient != nil {
		c := *cfg.HookClient
		hookClient = &c
	}
	// A response URL answers its post; a redirect would send the reply
	// (and the bot's request) somewhere the server did not name.
	hookClient.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if cfg.BackoffMin <= 0 {
		cfg.BackoffMin = time.Second
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = 2 * time.Minute
	}
	if cfg.Watchdog <= 0 {
		cfg.Watchdog = 90 * time.Second
	}
	if cfg.MaxCatchUp <= 0 {
		cfg.MaxCatchUp = time.Hour
	}
	if cfg.CatchUp <= 0 {
		cfg.CatchUp = 5 * time.Minute
	}
	cfg.MaxCatchUp = max(cfg.MaxCatchUp, cfg.CatchUp)
	base := u.String()
	client := model.NewAPIv4Client(base)
	client.SetToken(cfg.Token)
	ws := *u
	ws.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
	return &Adapter{cfg: cfg, teams: allow.New(cfg.TeamIDs, "Mattermost team", cfg.Logger), client: client, wsURL: ws.String(), log: cfg.Logger, hookClient: hookClient, hookHosts: hookHosts}, nil
}

// Name implements bot.Adapter.
func (a *Adapter) Name() string { return "mattermost" }

// State implements bot.StateReporter.
func (a *Adapter) State() bot.ConnState { return bot.ConnState(a.state.Load()) }

func (a *Adapter) setState(s bot.ConnState) { a.state.Store(int32(s)) }
