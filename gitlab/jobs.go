package gitlab

import (
	"context"
	"fmt"
	"sort"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/chatops-dev/chatops/bot"
	"gopkg.in/yaml.v3"

	"github.com/chatops-dev/chatops/bot/suggest"
)

// ciJob is what chatops reads of a job definition.
type ciJob struct {
	Name        string
	Hidden      bool
	ExceptChat  bool
	Description string // from the job's CHATOPS_HELP variable
	// Trigger says the job has trigger: (see findJob).
	Trigger bool
	// Parallel says the job has parallel: (see findJob).
	Parallel bool
}

type ciConfig struct {
	jobs map[string]*ciJob
}

// Top-level keys of .gitlab-ci.yml that are not jobs.
var ciKeywords = map[string]bool{"default": true, "include": true, "stages": true, "variables": true, "workflow": true,
	"image": true, "services": true, "cache": true, "before_script": true, "after_script": true, "types": true}

func parseCIConfig(src string) (*ciConfig, error) {
	var raw map[string]yaml.Node
	if err := yaml.Unmarshal([]byte(src), &raw); err != nil {
		return nil, fmt.Errorf("read merged .gitlab-ci.yml: %w", err)
	}
	cfg := &ciConfig{jobs: map[string]*ciJob{}}
	for name, node := range raw {
		if ciKeywords[name] || node.Kind != yaml.MappingNode {
			continue
		}
		var def struct {
			Except    any            `yaml:"except"`
			Variables map[string]any `yaml:"variables"`
			Extra     map[string]any `yaml:",inline"`
		}
		if err := node.Decode(&def); err != nil {
			continue
		}
		j := &ciJob{Name: name, Hidden: strings.HasPrefix(name, "."), ExceptChat: mentionsChat(def.Except),
			Trigger: def.Extra["trigger"] != nil, Parallel: def.Extra["parallel"] != nil}
		if d, ok := def.Variables["CHATOPS_HELP"].(string); ok {
			j.Description = d
		} else if m, ok := def.Variables["CHATOPS_HELP"].(map[string]any); ok {
			j.Description, _ = m["value"].(string)
		}
		cfg.jobs[name] = j
	}
	return cfg, nil
}

// mentionsChat reports except: [chat] or except: {refs: [chat]}.
func mentionsChat(v any) bool {
	switch t := v.(type) {
	case string:
		return t == "chat"
	case []any:
		for _, x := range t {
			if mentionsChat(x) {
				return true
			}
		}
	case map[string]any:
		return mentionsChat(t["refs"])
	}
	return false
}

// ciAt returns the CI configuration at sha, from the lint API's
// merged_yaml (includes resolved), cached by sha.
func (s *Service) ciAt(ctx context.Context, p *project) (*ciConfig, error) {
	s.mu.Lock()
	c, ok := s.ciByID[p.SHA]
	s.mu.Unlock()
	if ok {
		return c, nil
	}
	res, _, err := s.client.Validate.ProjectLint(p.ID, &gl.ProjectLintOptions{
		ContentRef: gl.Ptr(p.SHA), IncludeJobs: gl.Ptr(true),
	}, gl.WithContext(ctx))
	if err != nil {
		return nil, s.apiRefusal("read the CI configuration", err)
	}
	if !res.Valid {
		return nil, &bot.Refusal{Title: s.cfg.Project + "'s .gitlab-ci.yml is invalid",
			Text: fmt.Sprintf("GitLab's lint says: %s\nFix it on %s, then try again.", strings.Join(res.Errors, "; "), p.Ref)}
	}
	c, err = parseCIConfig(res.MergedYaml)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if len(s.ciByID) > 64 { // bounded: old commits are not asked for again
		clear(s.ciByID)
	}
	s.ciByID[p.SHA] = c
	s.mu.Unlock()
	return c, nil
}

// findJob returns the job or a refusal saying why it cannot run from chat.
func (s *Service) findJob(c *ciConfig, p *project, name string) (*ciJob, error) {
	j, ok := c.jobs[name]
	if !ok {
		text := fmt.Sprintf("There is no job %q in %s's .gitlab-ci.yml on %s.", name, s.cfg.Project, p.Ref)
		if near := suggest.Closest(name, c.runnable()); near != "" {
			text += fmt.Sprintf(" Did you mean %s?", near)
		}
		text += " Type run to list the jobs you can run."
		return nil, &bot.Refusal{Title: "Unknown job " + name, Text: text}
	}
	if j.Hidden {
		return nil, &bot.Refusal{Title: "Job " + name + " is hidden",
			Text: "Jobs whose name starts with a dot are templates and never run. Run a job that extends it instead."}
	}
	if j.ExceptChat {
		return nil, &bot.Refusal{Title: "Job " + name + " may not run from chat",
			Text: "Its definition has except: [chat]. Remove that from .gitlab-ci.yml to allow it."}
	}
	if j.Trigger {
		return nil, triggerRefusal(name)
	}
	if j.Parallel {
		return nil, parallelRefusal(name, nil)
	}
	return j, nil
}

// parallelRefusal refuses a job with parallel:. GitLab creates no job of
// that name but instances ("deploy 1/2", "deploy 2/2"; "deploy: [a, b]"
// for parallel:matrix), each with its own log and result; chatops runs
// and answers for one job, and merging several logs into one reply has no
// GitLab ChatOps rule to follow, so the job is refused rather than half
// reported. instances are the ones a pipeline holds, when known.
func parallelRefusal(name string, instances []string) *bot.Refusal {
	text := name + " has parallel:, so GitLab runs it as several jobs"
	if len(instances) > 0 {
		text += " (" + strings.Join(instances, ", ") + ")"
	} else {
		text += " (\"" + name + " 1/2\", \"" + name + " 2/2\", or \"" + name + ": [value]\" for a matrix)"
	}
	return &bot.Refusal{Title: "Job " + name + " runs in parallel",
		Text: text + ", each with its own log, and chatops runs and reports one job. Run from chat a job without parallel: (both can extend a hidden template that holds the script)."}
}

// parallelInstances returns the names among jobs that are instances of
// the parallel job name: "name i/n" or "name: [...]".
func parallelInstances(name string, jobs []string) []string {
	var out []string
	for _, j := range jobs {
		rest, ok := strings.CutPrefix(j, name)
		if !ok {
			continue
		}
		if strings.HasPrefix(rest, ": [") && strings.HasSuffix(rest, "]") {
			out = append(out, j)
		} else if r, ok := strings.CutPrefix(rest, " "); ok {
			if i, n, ok := strings.Cut(r, "/"); ok && digits(i) && digits(n) {
				out = append(out, j)
			}
		}
	}
	return out
}

func digits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// triggerRefusal refuses a trigger job up front. chatops answers a run
// with the job's log (the chat_reply section, GitLab ChatOps' contract),
// and a trigger job (a bridge) has none: it starts a downstream pipeline
// and only reflects its status, so there would be nothing to reply.
// Following the bridge and linking the downstream pipeline was the other
// way; it would turn `run` into a status report of a pipeline the bot
// does not otherwise follow, so the user is told what runs instead.
// trigger: cannot be combined with script:, and strategy: depend only
// makes the bridge mirror the downstream status: it still has no log.
func triggerRefusal(name string) *bot.Refusal {
	return &bot.Refusal{Title: "Job " + name + " is a trigger job",
		Text: name + " has trigger:, so it starts a downstream pipeline instead of running a script. It has no log, and chatops replies with the job's log, so it cannot report it. " +
			"Run a job of the downstream project instead (add that project to chatops' [projects]), or a normal job whose script starts the downstream pipeline " +
			"(the pipeline trigger API with $CI_JOB_TOKEN) and waits for its result."}
}

func (c *ciConfig) runnable() []string {
	var out []string
	for n, j := range c.jobs {
		if !j.Hidden && !j.ExceptChat && !j.Trigger && !j.Parallel {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// JobInfo describes a job that can be run from chat.
type JobInfo struct {
	Name        string
	Description string
}

// ChatJobs lists the default branch's jobs that can be run from chat, to
// a chat identity that may run them (a *bot.Refusal otherwise: the list
// is not shown to whoever asks). Jobs with a CHATOPS_HELP variable are
// listed first, as they were meant for chat.
func (s *Service) ChatJobs(ctx context.Context, identity string) ([]JobInfo, error) {
	if _, ok := s.username(ctx, identity); !ok {
		return nil, s.unlinked(identity)
	}
	ctx, cancel := s.bound(ctx, 3)
	defer cancel()
	p, err := s.lookupProject(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := s.authorize(ctx, p, identity, actorFrom(ctx)); err != nil {
		return nil, err
	}
	c, err := s.ciAt(ctx, p)
	if err != nil {
		return nil, err
	}
	var out []JobInfo
	for _, n := range c.runnable() {
		out = append(out, JobInfo{Name: n, Description: c.jobs[n].Description})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Description != "" && out[j].Description == "" })
	return out, nil
}
