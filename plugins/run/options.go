package run

import (
	"context"
	"log/slog"
	"time"

	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/plugins/run/policy"
	"github.com/chatops-dev/chatops/store"
)

// Options configure the plugin. Zero durations pick the defaults.
type Options struct {
	// Projects are the GitLab projects jobs run in. With a single project,
	// GitLab and Project may be set instead: the default project.
	Projects []Project
	// GitLab and Project are the default project's client and path, when
	// Projects is empty.
	GitLab  GitLab
	Project string
	// Store keeps the runs.
	Store store.Store
	// PollInterval is how often open runs are polled (default 2s,
	// jittered by ±20%), in one request per project.
	PollInterval time.Duration
	// Webhooks says GitLab webhooks wake the watcher: polling then only
	// backs them up, every HookPollInterval (default 30s).
	Webhooks         bool
	HookPollInterval time.Duration
	// ReplyTimeout is how long a job is followed before the answer says it
	// is still running (default 1h).
	ReplyTimeout time.Duration
	// DeliverFor is how long a final answer the platform refuses is
	// retried, across restarts (default 24h).
	DeliverFor time.Duration
	// ResumeCreateWithin: a run whose pipeline was never created (the
	// process died first) is still created when resumed within this long
	// of the request (default 10m); older ones are answered "not run".
	ResumeCreateWithin time.Duration
	// Owner names this process in the store's run leases (default: host,
	// pid and a random suffix). With several processes sharing a store,
	// each open run is followed by the one holding its lease.
	Owner string
	// Lease is how long a run's lease lasts without renewal (default
	// 10s; renewed every third of it): a process that dies has its runs
	// taken over by another within about Lease and a third.
	Lease time.Duration
	// Concurrency bounds the GitLab and chat calls the watcher makes at
	// once (default 16).
	Concurrency int
	// Logger receives the plugin's logs (default slog.Default()).
	Logger *slog.Logger
	// Observer, when set, is told how runs go (metrics).
	Observer Observer
	// Audit, when set, receives one line per pipeline created (see
	// watcher.audit), for operators to ship as their audit trail.
	Audit *slog.Logger
	// Actor, when set, tells who a chat identity acts as in GitLab (a
	// linked user's token; plugins/identity). Commands get it from the
	// identity middleware; the watcher asks here when it resumes a run
	// after a restart. See actor.go.
	Actor func(ctx context.Context, identity string) (gitlab.Actor, error)
	// Policy holds the per-job rules (see package policy); the zero Set
	// leaves every job to the project's min_role.
	Policy policy.Set
	// ConfirmFor is how long a job with confirm = true waits for its
	// confirmation (default 5m).
	ConfirmFor time.Duration
}

func (o *Options) setDefaults() {
	if o.PollInterval <= 0 {
		o.PollInterval = 2 * time.Second
	}
	if o.HookPollInterval <= 0 {
		o.HookPollInterval = 30 * time.Second
	}
	if o.ReplyTimeout <= 0 {
		o.ReplyTimeout = time.Hour
	}
	if o.DeliverFor <= 0 {
		o.DeliverFor = 24 * time.Hour
	}
	if o.ResumeCreateWithin <= 0 {
		o.ResumeCreateWithin = 10 * time.Minute
	}
	if o.Owner == "" {
		o.Owner = defaultOwner()
	}
	if o.Lease <= 0 {
		o.Lease = 10 * time.Second
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 16
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.ConfirmFor <= 0 {
		o.ConfirmFor = 5 * time.Minute
	}
}
