package gitlab

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/chatops-dev/chatops/bot"
)

// noRetry disables client-go's retries for one request: creating a
// pipeline twice could deploy twice.
var noRetry = gl.WithRequestRetry(func(context.Context, *http.Response, error) (bool, error) { return false, nil })

// RunRequest is one `run` from chat.
type RunRequest struct {
	// Job is the job name, matched case-sensitively as GitLab does.
	Job string
	// Args is the raw argument text; it becomes CHAT_INPUT byte for byte.
	Args string
	// Ref is the branch or tag to run on; empty means the default branch.
	Ref string
	// Identity is "platform:userID", looked up in Config.Identities.
	Identity string
	// ChannelID and UserID are the chat ids given to the job as
	// CHAT_CHANNEL and CHAT_USER_ID.
	ChannelID, UserID string
	// Actor is the linked user's credential, the zero Actor when the
	// user has not linked an account (Config.ActAs decides then).
	Actor Actor
	// Variables are named pipeline variables from chat (NAME=value
	// arguments the job's policy allows), besides CHAT_INPUT.
	Variables map[string]string
}

// RunIDVariable is the pipeline variable that carries a run's id, so a
// pipeline can be found again after a crash or a lost answer.
const RunIDVariable = "CHATOPS_RUN_ID"

// variables are the run's pipeline variables. GitLab expands the
// variables a pipeline variable created through the API names ($NAME,
// ${NAME}; the API cannot create raw ones), with $$ as its escape for a
// literal $. Every value from chat is therefore sent with each $ doubled:
// else `run echo-job $PROD_DB_PASSWORD` would hand the job the protected
// variable's value as CHAT_INPUT, for a job that echoes its input to post
// it unmasked to chat, and CHAT_INPUT would not be the text as typed.
func variables(plan Plan, runID string) *[]*gl.PipelineVariableOptions {
	v := func(k, val string) *gl.PipelineVariableOptions {
		return &gl.PipelineVariableOptions{Key: gl.Ptr(k), Value: gl.Ptr(val), VariableType: gl.Ptr(gl.EnvVariableType)}
	}
	literal := func(k, val string) *gl.PipelineVariableOptions { return v(k, strings.ReplaceAll(val, "$", "$$")) }
	vars := []*gl.PipelineVariableOptions{
		// The chat ids are the platform's, with no $; escaped anyway, as
		// everything that comes from chat.
		v("CHATOPS_JOB", plan.Job), literal("CHAT_CHANNEL", plan.ChannelID), literal("CHAT_USER_ID", plan.UserID), v(RunIDVariable, runID),
	}
	// GitLab leaves CHAT_INPUT unset when there are no arguments.
	if plan.Args != "" {
		vars = append(vars, literal("CHAT_INPUT", plan.Args))
	}
	own := map[string]bool{}
	for _, o := range vars {
		own[*o.Key] = true
	}
	for _, k := range slices.Sorted(maps.Keys(plan.Variables)) {
		// The bot's own variables are what the job trusts: chat never
		// overwrites them (configuration refuses such names too).
		if !own[k] {
			vars = append(vars, literal(k, plan.Variables[k]))
		}
	}
	return &vars
}

// createPipeline creates the run's pipeline exactly once. After an
// ambiguous failure (no answer, or a 5xx) it looks for a pipeline carrying
// this run's id before trying again.
func (s *Service) createPipeline(ctx context.Context, plan Plan, runID string, created time.Time) (*gl.Pipeline, error) {
	if s.cfg.ActAs == ActAsUser && !plan.Actor.Linked() {
		return nil, s.linkFirst() // never fall back to the bot's user
	}
	opts := &gl.CreatePipelineOptions{Ref: gl.Ptr(plan.Ref), Variables: variables(plan, runID)}
	for attempt := 1; ; attempt++ {
		pl, _, err := s.client.Pipelines.CreatePipeline(plan.ProjectID, opts, append(s.as(plan.Actor), gl.WithContext(ctx), noRetry)...)
		if err == nil {
			return pl, nil
		}
		st := statusOf(err)
		if st == http.StatusTooManyRequests {
			// Not ambiguous: GitLab did nothing. The caller waits and asks
			// again (and can tell the user why it waits).
			return nil, &RateLimitedError{Wait: retryAfter(err, maxRateLimitWait), Err: err}
		}
		if st != 0 && st < 500 {
			return nil, s.createRefusal(plan, err)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		s.log.Warn("pipeline creation failed ambiguously; checking whether it was created", "status", st, "err", err)
		found, ferr := s.findRunPipeline(ctx, plan, runID, created)
		if ferr != nil {
			return nil, &bot.Refusal{Title: "Could not confirm whether the pipeline was created",
				Text: fmt.Sprintf("GitLab did not answer the request to create it, and the check failed too. Look at %s/-/pipelines before running %s again, so it does not run twice.", plan.ProjectURL, plan.Job), Err: ferr}
		}
		if found != nil {
			return found, nil
		}
		if attempt >= 2 {
			return nil, s.apiRefusal("create the pipeline", err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(s.cfg.RetryBackoff):
		}
	}
}

// findRunPipeline looks for the pipeline carrying runID among the ref's
// API pipelines created since the run was recorded, paging through all of
// them so a busy project cannot hide it. The window is on GitLab's clock
// (the skew learnt from its Date headers), with a margin.
func (s *Service) findRunPipeline(ctx context.Context, plan Plan, runID string, since time.Time) (*gl.Pipeline, error) {
	after := since.Add(time.Duration(s.skew.Load())).Add(-2 * time.Minute)
	opts := &gl.ListProjectPipelinesOptions{
		Ref: gl.Ptr(plan.Ref), Source: gl.Ptr("api"), UpdatedAfter: gl.Ptr(after),
		OrderBy: gl.Ptr("id"), Sort: gl.Ptr("desc"), ListOptions: gl.ListOptions{PerPage: 100},
	}
	for page := 1; page <= maxPages; page++ {
		opts.Page = int64(page)
		list, resp, err := s.client.Pipelines.ListProjectPipelines(plan.ProjectID, opts, gl.WithContext(ctx))
		if err != nil {
			return nil, err
		}
		for _, info := range list {
			vars, _, err := s.client.Pipelines.GetPipelineVariables(plan.ProjectID, info.ID, gl.WithContext(ctx))
			if err != nil {
				return nil, err
			}
			for _, v := range vars {
				if v.Key == RunIDVariable && v.Value == runID {
					pl, _, err := s.client.Pipelines.GetPipeline(plan.ProjectID, info.ID, gl.WithContext(ctx))
					return pl, err
				}
			}
		}
		if resp == nil || resp.NextPage == 0 {
			break
		}
	}
	return nil, nil
}

// RateLimitedError is GitLab refusing a request for now (429): nothing was
// done, and asking again after Wait is safe.
type RateLimitedError struct {
	Wait time.Duration
	Err  error
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("GitLab is rate limiting the bot (try again in %s): %v", e.Wait, e.Err)
}

// Unwrap returns the cause.
func (e *RateLimitedError) Unwrap() error { return e.Err }

// maxRateLimitWait bounds a wait GitLab asks for.
const maxRateLimitWait = time.Minute

// retryAfter reads Retry-After (seconds or a date), else RateLimit-Reset
// (a Unix time), from a client-go error response, bounded by limit; one
// second when GitLab says nothing.
func retryAfter(err error, limit time.Duration) time.Duration {
	var er *gl.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		return time.Second
	}
	h := er.Response.Header
	d := time.Second
	if v := h.Get("Retry-After"); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			d = time.Duration(n) * time.Second
		} else if t, err := http.ParseTime(v); err == nil {
			d = time.Until(t)
		}
	} else if v := h.Get("RateLimit-Reset"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			d = time.Until(time.Unix(n, 0))
		}
	}
	return min(max(d, 0), limit)
}

// maxPages bounds a paged listing (100 per page).
const maxPages = 20

// ruleSnippet is the .gitlab-ci.yml a job needs to be run by chatops.
func ruleSnippet(job string) string {
	return fmt.Sprintf("%s:\n  rules:\n    - if: $CHATOPS_JOB == \"%s\"", job, job)
}

// createRefusal explains GitLab's refusal to create the pipeline.
func (s *Service) createRefusal(plan Plan, err error) error {
	msg, job, ref := messageOf(err), plan.Job, plan.Ref
	switch {
	case strings.Contains(msg, "will not run for the selected trigger") || strings.Contains(msg, "prevented any jobs"):
		return &bot.Refusal{Title: "GitLab created no pipeline for " + job,
			Text: "No job's rules matched a pipeline started by chatops. Give the job a rule that selects it, in .gitlab-ci.yml on " + ref + ":\n" + ruleSnippet(job), Err: err}
	case strings.Contains(msg, "Insufficient permissions to set pipeline variables"):
		return &bot.Refusal{Title: "GitLab refused the CHAT_* pipeline variables",
			Text: "The project does not let the bot's user set pipeline variables. A Maintainer can allow it in Settings > CI/CD > Variables: set \"Minimum role to use pipeline variables\" to Developer (or the role of the bot's token user).", Err: err}
	case strings.Contains(msg, "sufficient permission to run a pipeline") || strings.Contains(msg, "protected"):
		return &bot.Refusal{Title: ref + " is protected in " + s.cfg.Project,
			Text: "The user the pipeline runs as may not run pipelines on it. In Settings > Repository > Protected branches (or tags), allow that user to merge (or push), or use a token of a user who may.", Err: err}
	case strings.Contains(msg, "Reference not found"):
		return &bot.Refusal{Title: "Ref " + ref + " not found in " + s.cfg.Project, Text: "GitLab could not find it; check the name and try again.", Err: err}
	}
	return s.apiRefusal("create the pipeline", err)
}
