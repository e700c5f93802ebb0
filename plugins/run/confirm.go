package run

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/commands"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/store"
)

// codeAlphabet leaves out look-alikes (0/O, 1/I/L), since people type
// codes on the terminal and Mattermost.
const codeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

func newCode() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)]
	}
	return string(b)
}

// confirmCommand is `confirm <code>`, typed or sent by a button click
// (action ID "confirm:<code>").
func (p *Plugin) confirmCommand() commands.Command {
	return commands.Command{
		Name: "confirm", Usage: "<code>", Hidden: true,
		Summary: "Confirm a job that asked for confirmation",
		Handler: commands.HandlerFunc(p.confirm),
	}
}

// ask stores a confirmation for the run m asked for and posts what will
// run, with a button and the code to type. Nothing runs until the
// requester confirms. rawArgs are the arguments as typed: confirm hands
// them to start, which parses the NAME=value variables out again (plan.Args
// has them removed already, so storing it would run without them).
func (p *Plugin) ask(ctx context.Context, w bot.Responder, m bot.Message, proj *Project, plan gitlab.Plan, ref, rawArgs string) error {
	c := &store.Confirmation{
		Code: newCode(), Requester: m.Identity(), UserID: m.Sender.ID,
		Platform: m.Platform, ChannelID: m.Conversation.ChannelID, ThreadID: m.Conversation.ThreadID,
		Direct: m.Conversation.Direct, Handle: m.Conversation.Handle,
		Project: proj.Path, Job: plan.Job, Ref: ref, Args: rawArgs,
		ExpiresAt: time.Now().Add(p.opts.ConfirmFor),
	}
	if err := p.opts.Store.CreateConfirmation(ctx, c); err != nil {
		return fmt.Errorf("record the confirmation: %w", err)
	}
	args := plan.Args
	if args == "" {
		args = "(none)"
	}
	r := bot.Reply{
		Status: bot.StatusInfo,
		Title:  fmt.Sprintf("Run %s in %s? It needs your confirmation", plan.Job, proj.Name()),
		Fields: []bot.Field{{Name: "Job", Value: plan.Job}, {Name: "Ref", Value: plan.Ref}, {Name: "Arguments", Value: args},
			{Name: "Variables", Value: describeVariables(plan.Variables)}, {Name: "Project", Value: proj.Path}},
		Text: fmt.Sprintf("Only the person who asked can confirm, within %s: click Run, or type: confirm %s",
			p.opts.ConfirmFor.Round(time.Second), c.Code),
		Actions: []bot.Action{{ID: "confirm:" + c.Code, Label: "Run " + plan.Job, Style: bot.ActionDanger}},
	}
	bot.Logger(ctx).Info("confirmation asked", "code", c.Code, "job", plan.Job, "project", proj.Path)
	_, err := w.Reply(ctx, r)
	return err
}

// confirm takes the stored confirmation (once: a double click or a
// redelivered event finds it gone) and starts the run exactly as `run`
// would, after judging the policy again: it may have changed, and the
// requester's role with it.
func (p *Plugin) confirm(ctx context.Context, w bot.Responder, r *commands.Request) error {
	code := strings.ToUpper(strings.TrimSpace(r.RawArgs))
	if code == "" {
		return refusalf("Which confirmation?", "Usage: confirm <code>, with the code the question showed.")
	}
	m := r.Message
	c, err := p.opts.Store.TakeConfirmation(ctx, code, m.Identity())
	switch {
	case errors.Is(err, store.ErrNotYours):
		return bot.ReplyPrivately(ctx, w, m, bot.Reply{Status: bot.StatusError, Title: "Not yours to confirm",
			Text: "Only the person who asked for this run can confirm it."})
	case errors.Is(err, store.ErrExpired):
		return refusalf("Confirmation "+code+" expired", "Nothing ran. Ask again with run.")
	case errors.Is(err, store.ErrNotFound):
		return refusalf("No confirmation "+code+" is waiting", "It was used already or has expired; nothing more runs. Ask again with run.")
	case err != nil:
		return fmt.Errorf("take confirmation %s: %w", code, err)
	}
	if c.Platform != m.Platform || c.ChannelID != m.Conversation.ChannelID {
		// The question named this conversation: a run must not move
		// elsewhere (another channel's policy, CHAT_CHANNEL).
		return refusalf("Confirm where you asked", "This confirmation was asked in another conversation; nothing ran. Ask again with run here.")
	}
	proj := p.projects.Named(c.Project)
	if proj == nil {
		return refusalf("Project "+c.Project+" is no longer configured", "Nothing ran.")
	}
	if _, err := p.admit(ctx, m, proj, c.Job); err != nil {
		return err
	}
	bot.Logger(ctx).Info("confirmed", "code", code, "job", c.Job, "project", c.Project)
	if m.ActionOn != "" {
		// The question's button is spent: take it off, so nobody clicks
		// a dead button. Best effort: the run goes on either way.
		who := firstNonEmpty(m.Sender.Username, m.Sender.ID)
		_, _ = w.Update(ctx, bot.Sent{Conversation: m.Conversation, ID: m.ActionOn}, bot.Reply{Status: bot.StatusInfo,
			Title: fmt.Sprintf("Confirmed by %s: %s runs in %s", who, c.Job, proj.Name())})
	}
	return p.start(ctx, w, m, proj, c.Job, c.Ref, c.Args)
}

// describeVariables lists chat variables as NAME=value, sorted, so the
// question shows what the confirmed run will be given.
func describeVariables(vars map[string]string) string {
	if len(vars) == 0 {
		return "(none)"
	}
	out := make([]string, 0, len(vars))
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		out = append(out, k+"="+vars[k])
	}
	return strings.Join(out, " ")
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
