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
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/commands"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/gitlab/joblog"
	"github.com/chatops-dev/chatops/plugins/projects"
	"github.com/chatops-dev/chatops/plugins/run/policy"
	"github.com/chatops-dev/chatops/store"
)

// GitLab is what the plugin needs of GitLab; *gitlab.Service is one.
type GitLab interface {
	Prepare(ctx context.Context, req gitlab.RunRequest) (gitlab.Plan, error)
	Create(ctx context.Context, plan gitlab.Plan, runID string, created time.Time) (gitlab.State, error)
	Find(ctx context.Context, plan gitlab.Plan, runID string, created time.Time) (gitlab.State, bool, error)
	UpdatedPipelines(ctx context.Context, projectID int64, since time.Time) ([]gitlab.PipelineChange, time.Time, error)
	Job(ctx context.Context, projectID, jobID int64) (gitlab.State, error)
	// FetchReply is a finished job's answer: its reply file, else what
	// its log yields.
	FetchReply(ctx context.Context, projectID int64, job gitlab.State) (joblog.Result, error)
	ChatJobs(ctx context.Context, identity string) ([]gitlab.JobInfo, error)
	Role(ctx context.Context, identity string) (username string, level int, err error)
	Cancel(ctx context.Context, projectID, pipelineID int64) error
	// Play plays a manual job (see StartPlay).
	Play(ctx context.Context, projectID, jobID int64) (gitlab.State, error)
}

// Plugin provides the run command and follows the runs it starts. It is
// a commands.Plugin and, for its watcher, a bot.Service.
type Plugin struct {
	opts     Options
	projects projectSet
	w        *watcher

	// inHand holds the ids of runs a handler of this process is still
	// starting, so the watcher's start-up scan leaves them alone.
	mu     sync.Mutex
	inHand map[string]bool
	// scopes are other plugins' commands addressed to a project
	// ("<project> issue ..."), by command name; see Scope.
	scopes map[string]projects.Handler
}

// New returns the plugin, or an error when the projects are ambiguous
// (two with one name, a channel bound twice, two defaults).
func New(opts Options) (*Plugin, error) {
	opts.setDefaults()
	if len(opts.Projects) == 0 && opts.GitLab != nil {
		opts.Projects = []Project{{Path: opts.Project, GitLab: opts.GitLab, Default: true}}
	}
	ps, err := newProjects(opts.Projects)
	if err != nil {
		return nil, err
	}
	p := &Plugin{opts: opts, projects: ps, inHand: map[string]bool{}, scopes: map[string]projects.Handler{}}
	p.w = newWatcher(p)
	return p, nil
}

// Commands implements commands.Plugin: run, runs, cancel, retry,
// projects, and one hidden command per project name, so that
// "<project> run <job>" addresses a project as GitLab's
// "/gitlab <project> run" does.
func (p *Plugin) Commands() []commands.Command {
	cmds := []commands.Command{{
		Name:    "run",
		Usage:   "<job>[@ref] [arguments...]",
		Summary: "Run a GitLab CI job and post its output",
		Help: "Starts a pipeline with only <job> from .gitlab-ci.yml (on the default branch, or on ref after @ where the project allows it), " +
			"with the arguments in CHAT_INPUT (exactly as typed), the channel in CHAT_CHANNEL and your chat user id in CHAT_USER_ID, " +
			"and posts the job's chat_reply section (or its script output) here. The project is the one bound to this conversation, " +
			"else the default; name another first: <project> run <job>. Type run alone to list the jobs.",
		Examples: []string{"run hello-world", "run deploy production --force", "run deploy@v1.4.2 production", `run greet "Ada Lovelace"`},
		Handler:  commands.HandlerFunc(p.serve),
	}}
	cmds = append(cmds, p.manageCommands()...)
	cmds = append(cmds, p.confirmCommand())
	for _, proj := range p.projects.List() {
		for _, n := range []string{proj.Alias, proj.Path} {
			if n == "" {
				continue
			}
			cmds = append(cmds, commands.Command{Name: n, Usage: "run <job> [arguments...] | runs | <command> ...", Hidden: true,
				Summary: "Run a job (or another GitLab command) in " + proj.Path, Handler: p.scoped(proj)})
		}
	}
	return cmds
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

// defaultOwner names this process for run leases.
func defaultOwner() string { return store.NewOwner() }

func newRunID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// serve is `run`: in the conversation's project.
func (p *Plugin) serve(ctx context.Context, w bot.Responder, r *commands.Request) error {
	proj, err := p.projects.forConversation(r.Message)
	if err != nil {
		return err
	}
	return p.runIn(ctx, w, r.Message, proj, r.RawArgs)
}

// runIn is `run <job>[@ref] [arguments]` in a project.
func (p *Plugin) runIn(ctx context.Context, w bot.Responder, m bot.Message, proj *Project, raw string) error {
	jobRef, args := SplitJob(raw)
	if jobRef == "" {
		return p.list(ctx, w, m, proj)
	}
	job, ref, _ := strings.Cut(jobRef, "@")
	if asked, err := p.gate(ctx, w, m, proj, job, ref, args); asked || err != nil {
		return err
	}
	return p.start(ctx, w, m, proj, job, ref, args)
}

// start starts a run and returns as soon as its pipeline exists: waiting
// for the job holds no worker, the watcher does it.
func (p *Plugin) start(ctx context.Context, w bot.Responder, m bot.Message, proj *Project, job, ref, args string) error {
	vars, input, err := policy.ChatVariables(job, p.opts.Policy.For(proj.Path, job), args)
	if err != nil {
		return err
	}
	plan, err := proj.GitLab.Prepare(ctx, gitlab.RunRequest{
		Job: job, Ref: ref, Args: input, Variables: vars, Identity: m.Identity(), ChannelID: m.Conversation.ChannelID, UserID: m.Sender.ID,
	})
	if err != nil {
		return err // a *bot.Refusal: nothing was created
	}
	run := &store.Run{
		ID: newRunID(), Kind: "run", Platform: m.Platform,
		Requester: m.Identity(), UserID: m.Sender.ID, GitLabUser: plan.User,
		Project: proj.Path, ProjectID: plan.ProjectID, Ref: plan.Ref, Job: plan.Job, Args: args, // as typed: variables are read from it again on resume
		Phase: store.PhaseCreating, Deadline: time.Now().Add(p.opts.ReplyTimeout),
	}
	setConversation(run, m.Conversation)
	p.hold(run.ID, true)
	defer p.hold(run.ID, false)
	if err := p.record(ctx, w, run); err != nil {
		return err
	}
	bot.Logger(ctx).Info("run recorded", "run", run.ID, "job", job, "project", proj.Path)
	st, err := p.create(ctx, w, proj, plan, run)
	p.proceed(ctx, w, run, st, err)
	return nil
}

// record stores a new run before its side effect, then posts its
// progress reply and records where it went. A crash from here on is
// resumed by the next process (see watcher.resume).
func (p *Plugin) record(ctx context.Context, w bot.Responder, run *store.Run) error {
	// This process holds the run from the start: another one sharing the
	// store leaves it alone while this one renews the lease.
	run.Owner, run.LeaseUntil = p.opts.Owner, time.Now().Add(p.opts.Lease)
	if err := p.opts.Store.CreateRun(ctx, run); err != nil {
		if err := p.createdAnyway(ctx, run, err); err != nil {
			return err
		}
	}
	// From here on the run is stored, owned by this process: an error
	// returned now would answer "failed" while the watcher, once the
	// handler lets go, resumes the run and answers again. Every later
	// failure is the run's to report, through its stored answer.
	sent, err := w.Reply(ctx, gitlab.Progress(outcome(run)))
	if err != nil {
		// The answer is still owed: the watcher posts it when it can.
		bot.Logger(ctx).Warn("could not post the progress reply", "run", run.ID, "err", err)
		return nil
	}
	setReply(run, sent)
	if err := p.opts.Store.SaveRun(ctx, run); err != nil {
		// The reply's id stays in memory: handOver saves it with the
		// pipeline. Only if this process dies before that does the next
		// one post a second progress reply (and answer in that one).
		bot.Logger(ctx).Warn("could not record the run's reply yet; it is saved with the pipeline", "run", run.ID, "err", err)
	}
	return nil
}

// Tries of createdAnyway's read, and the pause between them.
const (
	createdReads = 3
	createdPause = 200 * time.Millisecond
)

// createdAnyway settles a CreateRun that failed (cerr): an error can come
// after the row was committed (the connection dropped on the way back),
// and a stored run is resumed and answered by the watcher, so the handler
// must not answer it as failed too. It reads the run back: stored, run
// becomes the stored copy and nil is returned; absent, cerr is. When even
// that cannot be told, the refusal says the run may still start.
func (p *Plugin) createdAnyway(ctx context.Context, run *store.Run, cerr error) error {
	if errors.Is(cerr, store.ErrExists) || ctx.Err() != nil {
		return fmt.Errorf("record the run: %w", cerr)
	}
	var err error
	for i := range createdReads {
		if i > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("record the run: %w", cerr)
			case <-time.After(createdPause):
			}
		}
		var got *store.Run
		got, err = p.opts.Store.GetRun(ctx, run.ID)
		switch {
		case err == nil:
			bot.Logger(ctx).Warn("recording the run failed, yet it was stored; going on", "run", run.ID, "err", cerr)
			*run = *got
			return nil
		case errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("record the run: %w", cerr)
		}
	}
	bot.Logger(ctx).Error("could not tell whether the run was recorded", "run", run.ID, "err", cerr, "read_err", err)
	return &bot.Refusal{Title: "The bot could not tell whether it recorded " + run.Job,
		Text: "Its database failed while the run was being stored. If the run was stored, it starts shortly and its answer comes here; " +
			"otherwise nothing runs. Check with runs before asking again.", Err: cerr}
}

// proceed records what the side effect did (st, err) and hands the run to
// the watcher.
func (p *Plugin) proceed(ctx context.Context, w bot.Responder, run *store.Run, st gitlab.State, err error) {
	if err != nil && ctx.Err() != nil {
		// Cut by a shutdown: the run stays "creating" and the next
		// process resumes it.
		return
	}
	p.w.apply(run, st, err)
	if run.Phase == store.PhaseFollowing && run.ReplyID != "" {
		// The pipeline exists: the reply links it at once.
		if sent, uerr := w.Update(ctx, replyRef(run), gitlab.Progress(outcome(run))); uerr == nil {
			setReply(run, sent)
		}
	}
	p.w.handOver(ctx, run)
}

// create creates the pipeline, waiting out GitLab's rate limit (a 429 is
// not ambiguous: nothing was created) and saying so in the progress reply.
func (p *Plugin) create(ctx context.Context, w bot.Responder, proj *Project, plan gitlab.Plan, run *store.Run) (gitlab.State, error) {
	for attempt := 1; ; attempt++ {
		st, err := proj.GitLab.Create(ctx, plan, run.ID, run.CreatedAt)
		var limited *gitlab.RateLimitedError
		if !errors.As(err, &limited) || attempt >= 3 {
			return st, err
		}
		if run.ReplyID != "" {
			o := outcome(run)
			o.Notes = append(o.Notes, fmt.Sprintf("GitLab is rate limiting the bot: the pipeline is created in %s.", limited.Wait.Round(time.Second)))
			_, _ = w.Update(ctx, replyRef(run), gitlab.Progress(o))
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(limited.Wait):
		}
	}
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

// Owner is this process's name in the store's run leases.
func (p *Plugin) Owner() string { return p.opts.Owner }

// Following counts the open runs this process follows.
func (p *Plugin) Following() int {
	p.w.mu.Lock()
	defer p.w.mu.Unlock()
	return p.w.count
}

// Hook wakes the watcher for a GitLab webhook event; wire it to
// gitlab.HookHandler. It never blocks.
func (p *Plugin) Hook(ev gitlab.HookEvent) { p.w.hook(ev) }

func (p *Plugin) list(ctx context.Context, w bot.Responder, m bot.Message, proj *Project) error {
	jobs, err := proj.GitLab.ChatJobs(ctx, m.Identity())
	if err != nil {
		return err
	}
	jobs = p.allowed(ctx, m, proj, jobs)
	var b strings.Builder
	b.WriteString("Usage: run <job> [arguments...]\n")
	if len(jobs) == 0 {
		b.WriteString("\nThe default branch's .gitlab-ci.yml has no jobs that can run from chat.")
	}
	// Jobs without a CHATOPS_HELP description are listed apart: they are
	// often ordinary CI jobs whose rules never select a chatops pipeline.
	var bare []string
	for _, j := range jobs {
		takes := ""
		if vars := p.opts.Policy.For(proj.Path, j.Name).Variables; len(vars) > 0 {
			takes = " (takes " + strings.Join(vars, "=…, ") + "=…)"
		}
		switch {
		case j.Description != "":
			fmt.Fprintf(&b, "\n%s%s — %s", j.Name, takes, j.Description)
		case takes != "":
			fmt.Fprintf(&b, "\n%s%s", j.Name, takes)
		default:
			bare = append(bare, j.Name)
		}
	}
	if len(bare) > 0 {
		fmt.Fprintf(&b, "\n\nOther jobs (no CHATOPS_HELP description; they run only if their rules select $CHATOPS_JOB): %s", strings.Join(bare, ", "))
	}
	title := "Jobs you can run"
	if len(p.projects.List()) > 1 {
		title += " in " + proj.Name()
	}
	_, err = w.Reply(ctx, bot.Reply{Status: bot.StatusInfo, Title: title, Text: b.String()})
	return err
}
