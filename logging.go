package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"

	"github.com/chatops-dev/chatops/adapters/mattermost"
	"github.com/chatops-dev/chatops/bot/config"
)

// newLogger builds the process logger on w (stderr): text or JSON at
// level. Every secret of the configuration is replaced in every message
// and attribute, whatever logged it: a library's error that quotes a
// token must not leak it.
func newLogger(w io.Writer, level slog.Level, format string, redact func(string) string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if redact == nil {
			return a
		}
		switch a.Value.Kind() {
		case slog.KindString:
			a.Value = slog.StringValue(redact(a.Value.String()))
		case slog.KindAny:
			v := a.Value.Any()
			if err, ok := v.(error); ok {
				a.Value = slog.StringValue(redact(err.Error()))
			} else if s := fmt.Sprint(v); redact(s) != s {
				a.Value = slog.StringValue(redact(s))
			}
		}
		return a
	}}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// logLevel is the configured level; in the terminal's interactive mode
// info lines would interleave with the conversation, so only warnings
// and errors are shown unless -v.
func logLevel(configured string, interactive, verbose bool) slog.Level {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(configured)); err != nil {
		lv = slog.LevelInfo
	}
	if interactive && !verbose && lv < slog.LevelWarn {
		lv = slog.LevelWarn
	}
	return lv
}

// redactor returns a function replacing every secret of cfg (tokens,
// [projects.<alias>] tokens among them, Mattermost's slash command
// tokens, the webhook secret, the store's secret key, a password in the
// store URL) with "[redacted]". The OAuth client id is public (the
// application has no secret) and is not redacted.
func redactor(cfg *config.Config) func(string) string {
	var secrets []string
	add := func(s string) {
		// Very short values would redact ordinary words; a real token
		// is never that short.
		if len(strings.TrimSpace(s)) >= 6 {
			secrets = append(secrets, s)
		}
	}
	if g := cfg.GitLab; g != nil {
		add(g.Token)
		add(g.WebhookSecret)
	}
	// A project's own token is a GitLab credential like [gitlab] token,
	// quoted as readily by a failing request's error.
	for _, p := range cfg.Projects {
		add(p.Token)
	}
	add(cfg.Store.SecretKey)
	if s := cfg.Slack; s != nil {
		add(s.AppToken)
		add(s.BotToken)
	}
	if m := cfg.Mattermost; m != nil {
		add(m.Token)
		for _, t := range m.SlashTokens {
			add(t)
			_, tok := mattermost.SplitSlashToken(t)
			add(tok)
		}
	}
	if d := cfg.Discord; d != nil {
		add(d.Token)
	}
	if u, err := url.Parse(cfg.Store.URL); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			add(p)
		}
	}
	if len(secrets) == 0 {
		return func(s string) string { return s }
	}
	pairs := make([]string, 0, 2*len(secrets))
	for _, s := range secrets {
		pairs = append(pairs, s, "[redacted]")
	}
	r := strings.NewReplacer(pairs...)
	return r.Replace
}
