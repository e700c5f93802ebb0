// Package run is the `run <job> [arguments...]` command: GitLab ChatOps
// for every chat platform. The plugin owns the conversation: it checks and
// starts the run through the shared GitLab client, posts the progress
// reply and records the run in the store; its watcher (a bot.Service)
// follows every open run and edits that reply as the run moves, in this
// process or, after a restart, in the next one.
package run

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/commands"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/gitlab/joblog"
	"github.com/chatops-dev/chatops/store"
)

// GitLab is what the plugin needs of GitLab; *gitlab.Service is one.
type GitLab interface {
	Prepare(ctx context.Context, req gitlab.RunRequest) (gitlab.Plan, error)
	Create(ctx context.Context, plan gitlab.Plan, runID string, created time.Time) (gitlab.State, error)
	Find(ctx context.Context, plan gitlab.Plan, runID string, created time.Time) (gitlab.State, bool, error)
	UpdatedPipelines(ctx context.Context, projectID int64, since time.Time) ([]gitlab.PipelineChange, time.Time, error)
	Job(ctx context.Context, projectID, jobID int64) (gitlab.State, error)
	FetchLog(ctx context.Context, projectID, jobID int64, succeeded bool) (joblog.Result, error)
	ChatJobs(ctx context.Context) ([]gitlab.JobInfo, error)
}

// Options configure the plugin. Zero durations pick the defaults.
type Options struct {
	// GitLab is the shared GitLab client.
	GitLab GitLab
	// Store keeps the runs.
	Store store.Store
	// Project names the project in stored runs (as configured).
	Project string
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
	if o.Concurrency <= 0 {
		o.Concurrency = 16
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Plugin provides the run command and follows the runs it starts. It is
// a commands.Plugin and, for its watcher, a bot.Service.
type Plugin struct {
	opts Options
	w    *watcher

	// inHand holds the ids of runs a handler of this process is still
	// starting, so the watcher's start-up scan leaves them alone.
	mu     sync.Mutex
	inHand map[string]bool
}

// New returns the plugin.
func New(opts Options) *Plugin {
	opts.setDefaults()
	p := &Plugin{opts: opts, inHand: map[string]bool{}}
	p.w = newWatcher(p)
	return p
}

// Commands implements commands.Plugin.
func (p *Plugin) Commands() []commands.Command {
	return []commands.Command{{
		Name:    "run",
		Usage:   "<job> [arguments...]",
		Summary: "Run a GitLab CI job from the default branch and post its output",
		Help: "Starts a pipeline with only <job> from .gitlab-ci.yml on the default branch, with the arguments in CHAT_INPUT " +
			"(exactly as typed), the channel in CHAT_CHANNEL and your chat user id in CHAT_USER_ID, and posts the job's " +
			"chat_reply section (or its script output) here. Type run alone to list the jobs.",
		Examples: []string{"run hello-world", "run deploy production --force", `run greet "Ada Lovelace"`},
		Handler:  commands.HandlerFunc(p.serve),
	}}
}

// SplitJob splits run's raw arguments as GitLab does
// (run\s+(?<job>\S+)(\s+(?<arguments>.+))?): the job is the first
// whitespace-free word, the arguments everything after the whitespace
// that follows it, byte for byte.
func SplitJob(raw string) (job, args string) {
	raw = strings.TrimLeftFunc(raw, unicode.IsSpace)
	i := strings.IndexFunc(raw, unicode.IsSpace)
	if i < 0 {
		return raw, ""
	}
	return raw[:i], strings.TrimLeftFunc(raw[i:], unicode.IsSpace)
}

func newRunID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// serve starts a run and returns as soon as its pipeline exists: waiting
// for the job holds no worker, the watcher does it.
func (p *Plugin) serve(ctx context.Context, w bot.Responder, r *commands.Request) error {
	job, args := SplitJob(r.RawArgs)
	if job == "" {
		return p.list(ctx, w)
	}
	m := r.Message
	plan, err := p.opts.GitLab.Prepare(ctx, gitlab.RunRequest{
		Job: job, Args: args, Identity: m.Identity(), ChannelID: m.Conversation.ChannelID, UserID: m.Sender.ID,
	})
	if err != nil {
		return err // a *bot.Refusal: nothing was created
	}
	run := &store.Run{
		ID: newRunID(), Kind: "run", Platform: m.Platform,
		Requester: m.Identity(), UserID: m.Sender.ID, GitLabUser: plan.User,
		Project: p.opts.Project, ProjectID: plan.ProjectID, Ref: plan.Ref, Job: plan.Job, Args: plan.Args,
		Phase: store.PhaseCreating, Deadline: time.Now().Add(p.opts.ReplyTimeout),
	}
	setConversation(run, m.Conversation)
	p.hold(run.ID, true)
	defer p.hold(run.ID, false)
	// Record before acting: a crash from here on is resumed by the next
	// process, which looks the run id up in GitLab before creating.
	if err := p.opts.Store.CreateRun(ctx, run); err != nil {
		return fmt.Errorf("record the run: %w", err)
	}
	bot.Logger(ctx).Info("run recorded", "run", run.ID, "job", job)
	if sent, err := w.Reply(ctx, gitlab.Progress(outcome(run))); err == nil {
		setReply(run, sent)
		if err := p.opts.Store.SaveRun(ctx, run); err != nil {
			return fmt.Errorf("record the run's reply: %w", err)
		}
	} else {
		// The answer is still owed: the watcher posts it when it can.
		bot.Logger(ctx).Warn("could not post the progress reply", "run", run.ID, "err", err)
	}
	st, err := p.opts.GitLab.Create(ctx, plan, run.ID, run.CreatedAt)
	if err != nil && ctx.Err() != nil {
		// Cut by a shutdown: the run stays "creating" and the next
		// process resumes it.
		return nil
	}
	p.w.started(ctx, run, st, err)
	return nil
}

// hold marks a run as being started by a handler of this process.
func (p *Plugin) hold(id string, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on {
		p.inHand[id] = true
	} else {
		delete(p.inHand, id)
	}
}

func (p *Plugin) held(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inHand[id]
}

// Serve implements bot.Service: the watcher follows every open run until
// ctx ends.
func (p *Plugin) Serve(ctx context.Context, out bot.Messenger) error { return p.w.serve(ctx, out) }

// Drain implements bot.Drainer: it waits until every run this process
// follows has been answered, or ctx ends.
func (p *Plugin) Drain(ctx context.Context) { p.w.drain(ctx) }

// Hook wakes the watcher for a GitLab webhook event; wire it to
// gitlab.HookHandler. It never blocks.
func (p *Plugin) Hook(ev gitlab.HookEvent) { p.w.hook(ev) }

func (p *Plugin) list(ctx context.Context, w bot.Responder) error {
	jobs, err := p.opts.GitLab.ChatJobs(ctx)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("Usage: run <job> [arguments...]\n")
	if len(jobs) == 0 {
		b.WriteString("\nThe default branch's .gitlab-ci.yml has no jobs that can run from chat.")
	}
	// Jobs without a CHATOPS_HELP description are listed apart: they are
	// often ordinary CI jobs whose rules never select a chatops pipeline.
	var bare []string
	for _, j := range jobs {
		if j.Description != "" {
			fmt.Fprintf(&b, "\n%s — %s", j.Name, j.Description)
		} else {
			bare = append(bare, j.Name)
		}
	}
	if len(bare) > 0 {
		fmt.Fprintf(&b, "\n\nOther jobs (no CHATOPS_HELP description; they run only if their rules select $CHATOPS_JOB): %s", strings.Join(bare, ", "))
	}
	_, err = w.Reply(ctx, bot.Reply{Status: bot.StatusInfo, Title: "Jobs you can run", Text: b.String()})
	return err
}
