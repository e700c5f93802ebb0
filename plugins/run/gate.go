package run

import (
	"context"
	"fmt"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/plugins/run/policy"
)

// groupChecker is the optional GitLab capability group rules need;
// *gitlab.Service has it. Without it a group rule refuses everyone.
type groupChecker interface {
	InGroup(ctx context.Context, username, group string) (bool, error)
}

// admit judges m's sender against job's policy in proj (see
// policy.Check) and returns the rule, so the caller knows whether the
// job must be confirmed first.
func (p *Plugin) admit(ctx context.Context, m bot.Message, proj *Project, job string) (policy.Rule, error) {
	return p.admitWith(ctx, &facts{}, m, proj, job)
}

// facts caches what GitLab said of one caller, so listing many jobs asks
// once per fact.
type facts struct {
	known    bool
	username string
	level    int
	groups   map[string]bool
}

func (p *Plugin) admitWith(ctx context.Context, f *facts, m bot.Message, proj *Project, job string) (policy.Rule, error) {
	rule := p.opts.Policy.For(proj.Path, job)
	c := policy.Caller{Channel: m.Platform + ":" + m.Conversation.ChannelID}
	if rule.NeedsUser() && (len(rule.Channels) == 0 || policy.Check(job, policy.Rule{Channels: rule.Channels}, c) == nil) {
		// The GitLab user is looked up only once the (free) channel rule
		// passed.
		if !f.known {
			username, level, err := proj.GitLab.Role(ctx, m.Identity())
			if err != nil {
				return rule, err
			}
			f.known, f.username, f.level, f.groups = true, username, level, map[string]bool{}
		}
		c.Username, c.Level = f.username, f.level
		gc, ok := proj.GitLab.(groupChecker)
		c.InGroup = func(group string) (bool, error) {
			if in, seen := f.groups[group]; seen {
				return in, nil
			}
			if !ok {
				return false, nil
			}
			in, err := gc.InGroup(ctx, f.username, group)
			if err == nil {
				f.groups[group] = in
			}
			return in, err
		}
	}
	return rule, policy.Check(job, rule, c)
}

// gate is what `run` does before start: the policy, and for a job with
// confirm = true the question instead of the run. asked reports that the
// question was posted (the run waits for `confirm`).
func (p *Plugin) gate(ctx context.Context, w bot.Responder, m bot.Message, proj *Project, job, ref, args string) (asked bool, err error) {
	rule, err := p.admit(ctx, m, proj, job)
	if err != nil {
		return false, err
	}
	// Malformed variables are refused before anything is asked.
	vars, input, err := policy.ChatVariables(job, rule, args)
	if err != nil || !rule.Confirm {
		return false, err
	}
	// Prepare checks what start will check (access, the job, the ref) and
	// creates nothing, so a question is only asked about a run that can
	// start.
	plan, err := proj.GitLab.Prepare(ctx, gitlab.RunRequest{
		Job: job, Ref: ref, Args: input, Variables: vars, Identity: m.Identity(), ChannelID: m.Conversation.ChannelID, UserID: m.Sender.ID,
	})
	if err != nil {
		return false, err
	}
	return true, p.ask(ctx, w, m, proj, plan, ref, args)
}

// allowed keeps the jobs m's sender may run here, for the job list. A
// job whose policy cannot be judged (GitLab down) is left out.
func (p *Plugin) allowed(ctx context.Context, m bot.Message, proj *Project, jobs []gitlab.JobInfo) []gitlab.JobInfo {
	var out []gitlab.JobInfo
	f := &facts{}
	for _, j := range jobs {
		if _, err := p.admitWith(ctx, f, m, proj, j.Name); err == nil {
			out = append(out, j)
		} else if ctx.Err() != nil {
			break
		}
	}
	return out
}

// refusalf is a refusal with formatted advice.
func refusalf(title, format string, a ...any) *bot.Refusal {
	return &bot.Refusal{Title: title, Text: fmt.Sprintf(format, a...)}
}

// admitPlay judges a play of a manual job (deploy) by the job's policy,
// as run would be. Confirmations are stored for runs only, so a job
// with confirm = true is refused here rather than played unasked.
func (p *Plugin) admitPlay(ctx context.Context, m bot.Message, proj *Project, job string) error {
	rule, err := p.admit(ctx, m, proj, job)
	if err != nil {
		return err
	}
	if rule.Confirm {
		return refusalf("Job "+job+" asks for confirmation",
			"Its policy has confirm = true, which playing a waiting job does not support yet; nothing was played. Play it in GitLab, or ask an admin.")
	}
	return nil
}
