package gitlab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"
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
	// Identity is "platform:userID", looked up in Config.Identities.
	Identity string
	// ChannelID and UserID are the chat ids given to the job as
	// CHAT_CHANNEL and CHAT_USER_ID.
	ChannelID, UserID string
}

func newRunID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Service) variables(req RunRequest, runID string) *[]*gl.PipelineVariableOptions {
	v := func(k, val string) *gl.PipelineVariableOptions {
		return &gl.PipelineVariableOptions{Key: gl.Ptr(k), Value: gl.Ptr(val), VariableType: gl.Ptr(gl.EnvVariableType)}
	}
	vars := []*gl.PipelineVariableOptions{
		v("CHATOPS_JOB", req.Job), v("CHAT_CHANNEL", req.ChannelID), v("CHAT_USER_ID", req.UserID), v("CHATOPS_RUN_ID", runID),
	}
	// GitLab leaves CHAT_INPUT unset when there are no arguments.
	if req.Args != "" {
		vars = append(vars, v("CHAT_INPUT", req.Args))
	}
	return &vars
}

// createPipeline creates the run's pipeline exactly once. After an
// ambiguous failure (no answer, or a 5xx) it looks for a pipeline carrying
// this run's id before trying again.
func (s *Service) createPipeline(ctx context.Context, p *project, req RunRequest) (*gl.Pipeline, error) {
	runID := newRunID()
	started := time.Now()
	opts := &gl.CreatePipelineOptions{Ref: gl.Ptr(p.DefaultBranch), Variables: s.variables(req, runID)}
	for attempt := 1; ; attempt++ {
		pl, _, err := s.client.Pipelines.CreatePipeline(p.ID, opts, gl.WithContext(ctx), noRetry)
		if err == nil {
			return pl, nil
		}
		st := statusOf(err)
		if st != 0 && st < 500 {
			return nil, s.createRefusal(p, req.Job, err)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		s.log.Warn("pipeline creation failed ambiguously; checking whether it was created", "status", st, "err", err)
		found, ferr := s.findRunPipeline(ctx, p, runID, started)
		if ferr != nil {
			return nil, &Refusal{Title: "Could not confirm whether the pipeline was created",
				Text: fmt.Sprintf("GitLab did not answer the request to create it, and the check failed too. Look at %s/-/pipelines before running %s again, so it does not run twice.", p.WebURL, req.Job), Err: ferr}
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

// findRunPipeline looks for the pipeline carrying CHATOPS_RUN_ID among
// the default branch's recent API pipelines.
func (s *Service) findRunPipeline(ctx context.Context, p *project, runID string, since time.Time) (*gl.Pipeline, error) {
	list, _, err := s.client.Pipelines.ListProjectPipelines(p.ID, &gl.ListProjectPipelinesOptions{
		Ref: gl.Ptr(p.DefaultBranch), Source: gl.Ptr("api"), UpdatedAfter: gl.Ptr(since.Add(-time.Minute)),
		OrderBy: gl.Ptr("id"), Sort: gl.Ptr("desc"), ListOptions: gl.ListOptions{PerPage: 20},
	}, gl.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	for _, info := range list {
		vars, _, err := s.client.Pipelines.GetPipelineVariables(p.ID, info.ID, gl.WithContext(ctx))
		if err != nil {
			return nil, err
		}
		for _, v := range vars {
			if v.Key == "CHATOPS_RUN_ID" && v.Value == runID {
				pl, _, err := s.client.Pipelines.GetPipeline(p.ID, info.ID, gl.WithContext(ctx))
				return pl, err
			}
		}
	}
	return nil, nil
}

// ruleSnippet is the .gitlab-ci.yml a job needs to be run by chatops.
func ruleSnippet(job string) string {
	return fmt.Sprintf("%s:\n  rules:\n    - if: $CHATOPS_JOB == \"%s\"", job, job)
}

// createRefusal explains GitLab's refusal to create the pipeline.
func (s *Service) createRefusal(p *project, job string, err error) error {
	msg := messageOf(err)
	switch {
	case strings.Contains(msg, "will not run for the selected trigger") || strings.Contains(msg, "prevented any jobs"):
		return &Refusal{Title: "GitLab created no pipeline for " + job,
			Text: "No job's rules matched a pipeline started by chatops. Give the job a rule that selects it, in .gitlab-ci.yml on " + p.DefaultBranch + ":\n" + ruleSnippet(job), Err: err}
	case strings.Contains(msg, "Insufficient permissions to set pipeline variables"):
		return &Refusal{Title: "GitLab refused the CHAT_* pipeline variables",
			Text: "The project does not let the bot's user set pipeline variables. A Maintainer can allow it in Settings > CI/CD > Variables: set \"Minimum role to use pipeline variables\" to Developer (or the role of the bot's token user).", Err: err}
	case strings.Contains(msg, "sufficient permission to run a pipeline") || strings.Contains(msg, "protected"):
		return &Refusal{Title: "The default branch " + p.DefaultBranch + " is protected",
			Text: "The bot's token user may not run pipelines on it. In Settings > Repository > Protected branches, allow that user to merge (or push), or use a token of a user who may.", Err: err}
	case strings.Contains(msg, "Reference not found"):
		return &Refusal{Title: "Branch " + p.DefaultBranch + " not found", Text: "GitLab could not find the default branch; try again.", Err: err}
	}
	return s.apiRefusal("create the pipeline", err)
}
