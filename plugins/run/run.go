// Package run is the `run <job> [arguments...]` command: GitLab ChatOps
// for every chat platform, through the shared gitlab.Service.
package run

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/commands"
	"github.com/chatops-dev/chatops/gitlab"
)

// Runner is what the plugin needs of GitLab; *gitlab.Service is one.
type Runner interface {
	Run(ctx context.Context, w bot.Responder, req gitlab.RunRequest) error
	ChatJobs(ctx context.Context) ([]gitlab.JobInfo, error)
}

// Plugin provides the run command.
type Plugin struct {
	svc Runner
}

// New returns the plugin over svc.
func New(svc Runner) *Plugin { return &Plugin{svc: svc} }

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

func (p *Plugin) serve(ctx context.Context, w bot.Responder, r *commands.Request) error {
	job, args := SplitJob(r.RawArgs)
	if job == "" {
		return p.list(ctx, w)
	}
	m := r.Message
	err := p.svc.Run(ctx, w, gitlab.RunRequest{
		Job: job, Args: args, Identity: m.Identity(), ChannelID: m.Conversation.ChannelID, UserID: m.Sender.ID,
	})
	var ref *gitlab.Refusal
	if errors.As(err, &ref) {
		return &commands.UserError{Title: ref.Title, Text: ref.Text, Err: ref.Err}
	}
	return err
}

func (p *Plugin) list(ctx context.Context, w bot.Responder) error {
	jobs, err := p.svc.ChatJobs(ctx)
	var ref *gitlab.Refusal
	if errors.As(err, &ref) {
		return &commands.UserError{Title: ref.Title, Text: ref.Text, Err: ref.Err}
	}
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
