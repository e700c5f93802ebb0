package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/chatops-dev/chatops/adapters/discord"
	"github.com/chatops-dev/chatops/adapters/mattermost"
	"github.com/chatops-dev/chatops/adapters/shell"
	"github.com/chatops-dev/chatops/adapters/slack"
	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/config"
	"github.com/chatops-dev/chatops/commands"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/metrics"
	"github.com/chatops-dev/chatops/plugins/gitlabplugins"
	"github.com/chatops-dev/chatops/plugins/ping"
	runplugin "github.com/chatops-dev/chatops/plugins/run"
	"github.com/chatops-dev/chatops/store"
	"github.com/chatops-dev/chatops/store/storeopen"
)

// app is the wired process: the bot and what must be closed after it.
type app struct {
	bot *bot.Bot
	log *slog.Logger
	// httpAddr is where the HTTP listener listens ("" when off).
	httpAddr string
	// commands are the names the router serves.
	commands []string
	closers  []func()
}

func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

// parts are what a configuration builds before the bot: shared by the
// bot's start and `chatops check`.
type parts struct {
	cfg    *config.Config
	log    *slog.Logger
	redact func(string) string
	store  store.Store
	// projects are the GitLab projects (none without [gitlab]), and
	// gitlabs their clients, in the same order.
	projects []gitlabplugins.Project
	gitlabs  []*gitlab.Service
	adapters []bot.Adapter
	closers  []func()
}

func (p *parts) close() {
	for i := len(p.closers) - 1; i >= 0; i-- {
		p.closers[i]()
	}
}

// loadConfig loads the file, saying where its path came from when it
// cannot be read.
func loadConfig(o options) (*config.Config, error) {
	cfg, err := config.Load(o.configPath)
	if err != nil && o.fromEnv {
		return nil, fmt.Errorf("%w\n(the path %s was taken from $CHATOPS_CONFIG)", err, o.configPath)
	}
	return cfg, err
}

// build makes the store, the GitLab client and the adapters of cfg. m,
// when set, counts GitLab requests.
func build(ctx context.Context, cfg *config.Config, o options, stdin io.Reader, stdout, stderr io.Writer, m *metrics.Metrics) (*parts, error) {
	p := &parts{cfg: cfg, redact: redactor(cfg)}
	var sh *shell.Adapter
	if cfg.Shell != nil {
		sh = shell.New(shell.Config{User: cfg.Shell.User, In: stdin, Out: stdout})
	}
	logOut := stderr
	interactive := sh != nil && sh.Interactive()
	if interactive {
		// Log lines must not land on the prompt line.
		logOut = sh.LogWriter(stderr)
	}
	p.log = newLogger(logOut, logLevel(cfg.Log.Level, interactive, o.verbose), cfg.Log.Format, p.redact)
	st, err := openStore(ctx, cfg.Store)
	if err != nil {
		return nil, err
	}
	p.store = st
	p.closers = append(p.closers, func() { _ = st.Close() })
	if cfg.GitLab != nil {
		if p.projects, p.gitlabs, err = gitlabProjects(cfg, p.log, m); err != nil {
			p.close()
			return nil, err
		}
	}
	if sh != nil {
		p.adapters = append(p.adapters, sh)
	}
	more, err := buildAdapters(cfg, st, p.log)
	if err != nil {
		p.close()
		return nil, err
	}
	p.adapters = append(p.adapters, more...)
	return p, nil
}

// setup builds the bot from the config file, or the demo without one.
func setup(ctx context.Context, o options, stdin io.Reader, stdout, stderr io.Writer) (*app, error) {
	if o.configPath == "" {
		return setupDemo(ctx, o, stdin, stdout, stderr)
	}
	cfg, err := loadConfig(o)
	if err != nil {
		return nil, err
	}
	// One registry for the process, passed down: no global state.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := metrics.New(reg)

	p, err := build(ctx, cfg, o, stdin, stdout, stderr, m)
	if err != nil {
		return nil, err
	}
	log := p.log
	a := &app{log: log, closers: p.closers}
	if err := startupCheck(ctx, p); err != nil {
		a.close()
		return nil, err
	}

	router := commands.NewRouter(cfg.Bot.Name)
	router.Use(m.Commands())
	if err := router.Add(ping.New(version())); err != nil {
		a.close()
		return nil, err
	}
	// One name for this process in every lease the store keeps (runs,
	// pending links): /readyz shows it.
	owner := store.NewOwner()
	idp, err := identityPlugin(cfg, p, log, owner)
	if err != nil {
		a.close()
		return nil, err
	}
	if idp != nil {
		router.Use(idp.Middleware())
		if err := router.Add(idp); err != nil {
			a.close()
			return nil, err
		}
	}
	var runs *runplugin.Plugin
	if len(p.projects) > 0 {
		// run, issue and deploy, over the same projects.
		set, err := gitlabplugins.New(p.projects, runplugin.Options{Store: p.store,
			PollInterval: cfg.GitLab.PollInterval.Duration, ReplyTimeout: cfg.GitLab.ReplyTimeout.Duration,
			Webhooks: cfg.GitLab.WebhookSecret != "", HookPollInterval: cfg.GitLab.WebhookPollInterval.Duration,
			Lease: cfg.Store.Lease.Duration, Owner: owner,
			Logger: log.With("component", "run"), Observer: m, Audit: log.With("logger", "audit"),
			Actor: idp.Actor, Policy: jobPolicy(cfg), ConfirmFor: cfg.Bot.ConfirmTimeout.Duration})
		if err != nil {
			a.close()
			return nil, err
		}
		runs = set.Run
		for _, plugin := range set.Plugins() {
			if err := router.Add(plugin); err != nil {
				a.close()
				return nil, err
			}
		}
		if cfg.GitLab.WebhookSecret != "" {
			log.Info("GitLab webhooks on: polling only backs them up", "path", webhookPath, "backup_poll", cfg.GitLab.WebhookPollInterval.Duration)
		} else {
			log.Info("GitLab webhooks off: runs are followed by polling", "poll_interval", cfg.GitLab.PollInterval.Duration)
		}
	} else if err := router.Add(runplugin.Disabled{}); err != nil {
		a.close()
		return nil, err
	}
	a.commands = commandNames(router)
	drain := time.Hour
	if cfg.GitLab != nil {
		drain = cfg.GitLab.ReplyTimeout.Duration + time.Minute
	}
	a.bot = bot.New(router, bot.Options{
		Workers:           cfg.Bot.Workers,
		Queue:             cfg.Bot.Queue,
		PerUserConcurrent: cfg.Bot.PerUserConcurrent,
		PerUserPerMinute:  cfg.Bot.PerUserPerMinute,
		PerUserBurst:      cfg.Bot.PerUserBurst,
		ShutdownGrace:     cfg.Bot.ShutdownGrace.Duration,
		DrainTimeout:      drain,
		Claims:            p.store,
		Logger:            log,
		Observer:          m,
	}, p.adapters...)
	m.QueueDepth(a.bot.QueueDepth)
	if cfg.HTTP.Addr != "" {
		var hook http.Handler
		if runs != nil && cfg.GitLab.WebhookSecret != "" {
			hook = gitlab.HookHandler(cfg.GitLab.WebhookSecret, runs.Hook)
		}
		paths := []string{"/healthz", "/readyz", "/metrics"}
		if hook != nil {
			paths = append(paths, webhookPath)
		}
		for _, e := range adapterEndpoints(p.adapters) {
			paths = append(paths, e.Pattern)
		}
		addr, stop, err := serveHTTP(cfg.HTTP.Addr, httpHandler(p, m, hook, runs), paths, log)
		if err != nil {
			a.close()
			return nil, err
		}
		a.httpAddr = addr
		a.closers = append(a.closers, stop)
	}
	return a, nil
}

// gitlabProjects builds one GitLab client per project: [gitlab] project
// (the default) and each [projects.<alias>], with the project's own token
// when it has one, so a project token is never sent to another project.
// m, when set, counts their requests.
func gitlabProjects(cfg *config.Config, log *slog.Logger, m *metrics.Metrics) ([]gitlabplugins.Project, []*gitlab.Service, error) {
	g := cfg.GitLab
	var svcs []*gitlab.Service
	build := func(path, token string, refs []string) (*gitlab.Service, error) {
		if token == "" {
			token = g.Token
		}
		gc := gitlab.Config{URL: g.URL, Token: token, Project: path, Refs: refs,
			MinRole: g.MinRole, PlayManual: *g.PlayManual, Identities: cfg.Identities,
			ActAs: g.ActAsMode(), Linking: g.OAuthClientID != "",
			RequestTimeout: g.RequestTimeout.Duration, MaxRetryWait: g.MaxRetryWait.Duration,
			ExtractWait: g.LogWait.Duration, ExtractInterval: g.LogInterval.Duration,
			ReplyFile: g.ReplyFileName(),
			Logger:    log.With("component", "gitlab", "project", path)}
		if m != nil {
			gc.HTTPClient = &http.Client{Transport: m.Transport(nil)}
		}
		svc, err := gitlab.New(gc)
		if err != nil {
			return nil, fmt.Errorf("[gitlab] project %s: %w", path, err)
		}
		svcs = append(svcs, svc)
		return svc, nil
	}
	var out []gitlabplugins.Project
	if g.Project != "" {
		svc, err := build(g.Project, "", g.Refs)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, gitlabplugins.Project{Path: g.Project, GitLab: svc, Default: true})
	}
	aliases := make([]string, 0, len(cfg.Projects))
	for alias := range cfg.Projects {
		aliases = append(aliases, alias)
	}
	sort.Strings(aliases)
	for _, alias := range aliases {
		pc := cfg.Projects[alias]
		svc, err := build(pc.Path, pc.Token, pc.Refs)
		if err != nil {
			return nil, nil, err
		}
		p := gitlabplugins.Project{Alias: alias, Path: pc.Path, GitLab: svc, Channels: pc.Channels}
		if pc.Path == g.Project && len(out) > 0 && out[0].Alias == "" {
			// The default project described again: its alias, token,
			// channels and refs are these.
			p.Default = true
			out[0], svcs[0] = p, svc
			svcs = svcs[:len(svcs)-1]
			continue
		}
		out = append(out, p)
	}
	return out, svcs, nil
}

// webhookPath is where GitLab's Job and Pipeline Hooks are received.
const webhookPath = "/hooks/gitlab"

// openStore opens the configured store: PostgreSQL by URL, else the
// SQLite file.
func openStore(ctx context.Context, c config.Store) (store.Store, error) {
	st, err := storeopen.Open(ctx, c.URL, c.Path)
	if err != nil {
		return nil, fmt.Errorf("[store]: %w", err)
	}
	return st, nil
}

// buildAdapters makes one adapter per configured chat platform section.
func buildAdapters(cfg *config.Config, st store.Store, log *slog.Logger) ([]bot.Adapter, error) {
	var out []bot.Adapter
	if cfg.Slack != nil {
		a, err := slack.New(slack.Config{AppToken: cfg.Slack.AppToken, BotToken: cfg.Slack.BotToken, APIURL: cfg.Slack.APIURL, TeamIDs: cfg.Slack.TeamIDs, Logger: log.With("adapter", "slack")})
		if err != nil {
			return nil, fmt.Errorf("[slack]: %w", err)
		}
		out = append(out, a)
	}
	if cfg.Mattermost != nil {
		a, err := mattermost.New(mattermost.Config{URL: cfg.Mattermost.URL, Token: cfg.Mattermost.Token, Logger: log.With("adapter", "mattermost"),
			TeamIDs: cfg.Mattermost.TeamIDs, Cursors: st, CatchUp: cfg.Bot.CatchUp.Duration, SlashTokens: cfg.Mattermost.SlashTokens, SiteURL: cfg.Mattermost.SiteURL})
		if err != nil {
			return nil, fmt.Errorf("[mattermost]: %w", err)
		}
		out = append(out, a)
	}
	if cfg.Discord != nil {
		a, err := discord.New(discord.Config{Token: cfg.Discord.Token, APIURL: cfg.Discord.APIURL, GuildIDs: cfg.Discord.GuildIDs, Logger: log.With("adapter", "discord")})
		if err != nil {
			return nil, fmt.Errorf("[discord]: %w", err)
		}
		out = append(out, a)
	}
	return out, nil
}

func version() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "(devel)"
}

// commandNames are the names router serves.
func commandNames(router *commands.Router) []string {
	var names []string
	for _, c := range router.Commands() {
		names = append(names, c.Name)
	}
	return names
}
