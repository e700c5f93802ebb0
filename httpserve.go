package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/probe"
	"github.com/chatops-dev/chatops/metrics"
	runplugin "github.com/chatops-dev/chatops/plugins/run"
)

// gitlabProbeTTL is how long a GitLab readiness answer is reused: probes
// come every few seconds, GitLab need not be asked that often.
const gitlabProbeTTL = 30 * time.Second

// httpHandler is the one HTTP listener's routes: /healthz (alive),
// /readyz (adapters connected, store reachable, GitLab accepting the
// token; and the replica's role per platform), /metrics (Prometheus),
// when on, the GitLab webhook, and every adapter's own endpoints
// (bot.Endpoints: Mattermost's slash commands). runs may be nil (no
// GitLab).
func httpHandler(p *parts, m *metrics.Metrics, hook http.Handler, runs *runplugin.Plugin) http.Handler {
	checks := []probe.Check{{Name: "store", Run: p.store.Ping}}
	for _, a := range p.adapters {
		if sr, ok := a.(bot.StateReporter); ok {
			checks = append(checks, probe.Check{Name: "adapter " + a.Name(), Run: func(context.Context) error {
				if s := sr.State(); s != bot.StateConnected {
					return fmt.Errorf("%s (not connected)", s)
				}
				return nil
			}})
		}
	}
	for i, svc := range p.gitlabs {
		name := "gitlab"
		if i > 0 {
			name = "gitlab " + svc.Project()
		}
		whoami := func(ctx context.Context) error { _, err := svc.Whoami(ctx); return err }
		checks = append(checks, probe.Check{Name: name, Run: probe.Cached(gitlabProbeTTL, whoami)})
	}
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", probe.Live())
	mux.Handle("GET /readyz", probe.ReadyReplica(5*time.Second, p.redact, func() *probe.Replica { return replica(p, runs) }, checks...))
	mux.Handle("GET /metrics", m.Handler())
	if hook != nil {
		mux.Handle("POST "+webhookPath, hook)
	}
	for _, e := range adapterEndpoints(p.adapters) {
		mux.Handle(e.Pattern, e.Handler)
	}
	return mux
}

// adapterEndpoints lists the routes the adapters serve on the listener.
func adapterEndpoints(adapters []bot.Adapter) []bot.Endpoint {
	var out []bot.Endpoint
	for _, a := range adapters {
		if ep, ok := a.(bot.Endpoints); ok {
			out = append(out, ep.Endpoints()...)
		}
	}
	return out
}

// replica is what /readyz says of this process among the replicas: every
// replica connected to a platform serves it (event claims decide which
// handles an event), so the role is "serving" or why not.
func replica(p *parts, runs *runplugin.Plugin) *probe.Replica {
	r := &probe.Replica{Store: "sqlite", Roles: map[string]string{}}
	if p.cfg.Store.URL != "" {
		r.Store = "postgres"
	}
	if runs != nil {
		r.ID, r.Runs = runs.Owner(), runs.Following()
	}
	for _, a := range p.adapters {
		role := "serving"
		if sr, ok := a.(bot.StateReporter); ok {
			if s := sr.State(); s != bot.StateConnected {
				role = "not serving (" + s.String() + ")"
			}
		}
		r.Roles[a.Name()] = role
	}
	return r
}

// httpTimeouts bound how long one connection may hold the listener.
// The webhook and slash command routes read a body before they can check
// its secret, and a client that sends it slowly must not hold a
// connection for ever; every route answers at once (work happens after
// the answer), so a minute is plenty.
type httpTimeouts struct {
	header, read, write, idle time.Duration
}

// listenerTimeouts are the listener's bounds (tests shrink them).
var listenerTimeouts = httpTimeouts{header: 5 * time.Second, read: 30 * time.Second, write: time.Minute, idle: 2 * time.Minute}

// serveHTTP serves the bot's one HTTP listener until the returned stop;
// it returns the address listened on (a port 0 resolved). paths name
// what it serves, for the log.
func serveHTTP(addr string, h http.Handler, paths []string, log *slog.Logger) (string, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("[http] addr: %w", err)
	}
	t := listenerTimeouts
	srv := &http.Server{Handler: h, ReadHeaderTimeout: t.header, ReadTimeout: t.read,
		WriteTimeout: t.write, IdleTimeout: t.idle}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("HTTP listener stopped", "err", err)
		}
	}()
	log.Info("HTTP listener up", "addr", ln.Addr().String(), "paths", strings.Join(paths, " "))
	return ln.Addr().String(), func() { _ = srv.Close() }, nil
}
