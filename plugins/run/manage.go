package run

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/commands"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/store"
)

// shortIDLen is how much of a run's id chat shows and accepts.
const shortIDLen = 6

func shortID(id string) string { return id[:min(len(id), shortIDLen)] }

func (p *Plugin) manageCommands() []commands.Command {
	return []commands.Command{{
		Name: "runs", Usage: "[all]", Summary: "List the runs still going in this conversation",
		Help:     "Shows the open runs here: their id, job, who asked, state, age and pipeline. runs all shows your own open runs everywhere.",
		Examples: []string{"runs", "runs all"},
		Handler: commands.HandlerFunc(func(ctx context.Context, w bot.Responder, r *commands.Request) error {
			return p.listRuns(ctx, w, r.Message, nil, r.RawArgs)
		}),
	}, {
		Name: "cancel", Usage: "[run]", Summary: "Cancel a run's pipeline",
		Help: "Cancels the pipeline of the run with that id (shown in its reply); without an id, your one open run here. " +
			"Allowed to whoever started it and to Maintainers of the project.",
		Examples: []string{"cancel", "cancel 3f9a1c"},
		Handler:  commands.HandlerFunc(p.cancel),
	}, {
		Name: "retry", Aliases: []string{"again"}, Usage: "[run]", Summary: "Run a run's job again",
		Help:     "Starts the same job with the same arguments on the same ref as a new run, with the same checks as run. Without an id: your last run here.",
		Examples: []string{"retry", "retry 3f9a1c"},
		Handler:  commands.HandlerFunc(p.retry),
	}, {
		Name: "projects", Summary: "List the GitLab projects you can run jobs in",
		Help:    "Shows each project's name and path, the conversations bound to it, and which one run means here.",
		Handler: commands.HandlerFunc(p.listProjects),
	}}
}

// listRuns is `runs [all]`, or `<project> runs` when proj is set.
func (p *Plugin) listRuns(ctx context.Context, w bot.Responder, m bot.Message, proj *Project, raw string) error {
	f := store.RunFilter{Platform: m.Platform, ChannelID: m.Conversation.ChannelID, OpenOnly: true, Limit: 20}
	where := "here"
	if strings.EqualFold(strings.TrimSpace(raw), "all") {
		f = store.RunFilter{Requester: m.Identity(), OpenOnly: true, Limit: 20}
		where = "of yours anywhere"
	}
	if proj != nil {
		// Filtered by the store, so a busy conversation's other
		// projects' runs do not crowd this one's out of the limit.
		f.Project = proj.Path
	}
	runs, err := p.opts.Store.ListRuns(ctx, f)
	if err != nil {
		return fmt.Errorf("list runs: %w", err)
	}
	var b strings.Builder
	n := 0
	for _, r := range runs {
		n++
		fmt.Fprintf(&b, "%s  %s  %s, by %s, %s ago", shortID(r.ID), p.describe(r), stateOf(r), r.Requester, time.Since(r.CreatedAt).Round(time.Second))
		if r.PipelineURL != "" {
			b.WriteString("  " + r.PipelineURL)
		}
		b.WriteString("\n")
	}
	title := fmt.Sprintf("%d open run(s) %s", n, where)
	if n == 0 {
		b.WriteString("Nothing is running. Start a job with run <job>.")
	} else {
		b.WriteString("\ncancel <id> stops one; retry <id> runs it again.")
	}
	_, err = w.Reply(ctx, bot.Reply{Status: bot.StatusInfo, Title: title, Text: b.String()})
	return err
}

// describe names a run's job, ref and project.
func (p *Plugin) describe(r *store.Run) string {
	s := r.Job
	if r.Ref != "" {
		s += "@" + r.Ref
	}
	if len(p.projects.List()) > 1 {
		s += " in " + r.Project
	}
	return s
}

func stateOf(r *store.Run) string {
	switch {
	case r.Phase == store.PhaseCreating:
		return "starting"
	case r.Phase == store.PhaseAnswering:
		return "answering"
	case r.Status == "":
		return "created"
	}
	return r.Status
}

// findRun resolves a run named in chat: a short id (a prefix of the run's
// id), or, without one, the caller's runs here as picked by pick.
func (p *Plugin) findRun(ctx context.Context, m bot.Message, raw string, openOnly bool) (*store.Run, error) {
	id := strings.ToLower(strings.TrimSpace(raw))
	if id == "" {
		runs, err := p.opts.Store.ListRuns(ctx, store.RunFilter{Platform: m.Platform, ChannelID: m.Conversation.ChannelID,
			Requester: m.Identity(), OpenOnly: openOnly, Limit: 2})
		if err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		switch {
		case len(runs) == 0:
			return nil, &bot.Refusal{Title: "No run of yours here", Text: "Name one by its id (runs lists them)."}
		case len(runs) > 1 && openOnly:
			return nil, &bot.Refusal{Title: "Which run?", Text: fmt.Sprintf("You have several open runs here (%s, %s, ...): name one by its id.", shortID(runs[0].ID), shortID(runs[1].ID))}
		}
		return runs[0], nil
	}
	if len(id) < 4 {
		return nil, &bot.Refusal{Title: "Run id too short", Text: fmt.Sprintf("Give at least 4 characters of the id shown in the run's reply (it has %d).", shortIDLen)}
	}
	// By id, however old: a listing of the newest runs misses an open
	// run started before many others.
	found, err := p.opts.Store.ListRuns(ctx, store.RunFilter{IDPrefix: id, Limit: 2})
	if err != nil {
		return nil, fmt.Errorf("find run %s: %w", id, err)
	}
	switch len(found) {
	case 0:
		return nil, &bot.Refusal{Title: "No run " + id, Text: "Check the id in the run's reply, or type runs to list the open ones."}
	case 1:
		return found[0], nil
	}
	return nil, &bot.Refusal{Title: "Several runs start with " + id, Text: "Give more of the id."}
}

// cancel is `cancel [run]`.
func (p *Plugin) cancel(ctx context.Context, w bot.Responder, r *commands.Request) error {
	run, err := p.findRun(ctx, r.Message, r.RawArgs, true)
	if err != nil {
		return err
	}
	proj := p.projects.forRun(run)
	switch {
	case !run.Open() || gitlab.Finished(run.Status):
		return &bot.Refusal{Title: "Run " + shortID(run.ID) + " has already ended", Text: "Its reply says how."}
	case proj == nil:
		return &bot.Refusal{Title: "Project " + run.Project + " is no longer configured", Text: "Cancel the pipeline in GitLab: " + run.PipelineURL}
	case run.PipelineID == 0:
		return &bot.Refusal{Title: "Run " + shortID(run.ID) + " has no pipeline yet", Text: "Try again in a moment."}
	}
	who := r.Message.Identity()
	if run.Requester != who {
		user, level, err := proj.GitLab.Role(ctx, who)
		if err != nil {
			return err
		}
		if level < gitlab.Maintainer {
			return &bot.Refusal{Title: "You may not cancel run " + shortID(run.ID),
				Text: fmt.Sprintf("Only whoever started it (%s) or a Maintainer of %s may; GitLab user %s is not.", run.Requester, proj.Path, user)}
		}
	}
	name := r.Message.Sender.Username
	if name == "" {
		name = who
	}
	// Noted before GitLab is asked, so whatever answers the run here
	// (its poll may see it canceled before this handler goes on) says who.
	note := "Canceled from chat by " + name + "."
	undo := p.w.addNote(run.ID, note)
	if err := proj.GitLab.Cancel(ctx, run.ProjectID, run.PipelineID); err != nil {
		undo()
		return err
	}
	p.w.note(run.ID, note) // shows it now; relayed if another process follows the run
	bot.Logger(ctx).Info("pipeline canceled from chat", "run", run.ID, "pipeline", run.PipelineID, "by", who)
	_, err = w.Reply(ctx, bot.Reply{Status: bot.StatusInfo, Title: "Canceling " + run.Job + " (run " + shortID(run.ID) + ")",
		Text: "Its reply will say when GitLab has stopped it.", Links: []bot.Link{{Label: fmt.Sprintf("Pipeline #%d", run.PipelineID), URL: run.PipelineURL}}})
	return err
}

// retry is `retry [run]`: the same job, arguments and ref as a new run.
// Only runs started by `run` are retried: a deploy is refused, pointing
// to the deploy command.
func (p *Plugin) retry(ctx context.Context, w bot.Responder, r *commands.Request) error {
	run, err := p.findRun(ctx, r.Message, r.RawArgs, false)
	if err != nil {
		return err
	}
	if run.Kind != "" && run.Kind != "run" {
		// A deploy (or any other kind) played a job of an existing
		// pipeline, promoting what its source ran; a new run of that job
		// would be a pipeline at the branch's head instead. Refuse rather
		// than run something else than was asked.
		how := "Send the " + run.Kind + " command again."
		if run.Kind == "deploy" {
			how = "Send `deploy <from> to <to>` again: it promotes what the source environment runs now."
		}
		return &bot.Refusal{Title: "Run " + shortID(run.ID) + " was a " + run.Kind + ", which retry does not repeat",
			Text: "retry starts " + run.Job + " again as a new pipeline at the branch's head, not what the " + run.Kind + " played. " + how}
	}
	proj := p.projects.forRun(run)
	if proj == nil {
		return &bot.Refusal{Title: "Project " + run.Project + " is no longer configured", Text: "Run the job in a configured project: type projects."}
	}
	// A retry is a new run: the job's policy and confirmation apply as
	// to run.
	if asked, err := p.gate(ctx, w, r.Message, proj, run.Job, run.Ref, run.Args); asked || err != nil {
		return err
	}
	return p.start(ctx, w, r.Message, proj, run.Job, run.Ref, run.Args)
}

// listProjects is `projects`: those the caller may run jobs in.
func (p *Plugin) listProjects(ctx context.Context, w bot.Responder, r *commands.Request) error {
	here, _ := p.projects.forConversation(r.Message)
	var b strings.Builder
	shown := 0
	for _, proj := range p.projects.List() {
		_, level, err := proj.GitLab.Role(ctx, r.Message.Identity())
		if err != nil {
			return err
		}
		if level < 30 { // Developer: GitLab's rule for running pipelines
			continue
		}
		shown++
		b.WriteString(proj.Name())
		if proj.Alias != "" {
			b.WriteString(" (" + proj.Path + ")")
		}
		if len(proj.Channels) > 0 {
			b.WriteString(", bound to " + strings.Join(proj.Channels, ", "))
		}
		if proj == here {
			b.WriteString(" — run here means this one")
		}
		b.WriteString("\n")
	}
	if shown == 0 {
		return &bot.Refusal{Title: "No project you can run jobs in", Text: "Running jobs needs at least the Developer role in a project; ask its Maintainers."}
	}
	b.WriteString("\nName another one first: <project> run <job>.")
	_, err := w.Reply(ctx, bot.Reply{Status: bot.StatusInfo, Title: "Projects", Text: b.String()})
	return err
}
