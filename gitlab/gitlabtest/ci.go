package gitlabtest

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// ciJob is what the fake needs of a job definition.
type ciJob struct {
	Name   string
	Stage  string
	Script []string
	When   string
	Rules  []ciRule
	Only   []string
	Except []string
	// Environment is the environment the job deploys to (environment:
	// name, or environment: as a string).
	Environment string
	// Artifacts is the job's artifacts: keyword.
	Artifacts ciArtifacts
	// Trigger says the job has trigger: (a bridge to a downstream
	// pipeline): GitLab lists it under /pipelines/:id/bridges, not /jobs,
	// and it runs no script.
	Trigger bool
	// Parallel is parallel: N, the instances GitLab creates, named
	// "name i/N" (parallel:matrix is not modelled).
	Parallel int
}

// ciArtifacts is what the fake reads of artifacts: (see artifacts.go).
type ciArtifacts struct {
	// Paths are the files and directories kept, relative to the job's
	// working directory, with glob patterns.
	Paths []string
	// When is on_success (default), on_failure or always.
	When string
	// ExpireIn is how long they are kept, e.g. "1 day" (default 30 days,
	// GitLab's instance default).
	ExpireIn string
}

type ciRule struct {
	If   string
	When string
}

// Top-level keys of .gitlab-ci.yml that are not jobs.
var reserved = map[string]bool{"default": true, "include": true, "stages": true, "variables": true, "workflow": true,
	"image": true, "services": true, "cache": true, "before_script": true, "after_script": true, "types": true}

func parseCI(src string) (map[string]*ciJob, error) {
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	jobs := map[string]*ciJob{}
	for name, v := range doc {
		m, ok := v.(map[string]any)
		if !ok || reserved[name] || strings.HasPrefix(name, ".") {
			continue
		}
		j := &ciJob{Name: name, Stage: str(m["stage"]), When: str(m["when"]), Script: strs(m["script"]), Only: strs(m["only"]), Except: strs(m["except"])}
		j.Trigger = m["trigger"] != nil
		j.Parallel, _ = m["parallel"].(int)
		j.Environment = str(m["environment"])
		if env, ok := m["environment"].(map[string]any); ok {
			j.Environment = str(env["name"])
		}
		if j.Stage == "" {
			j.Stage = "test"
		}
		if a, ok := m["artifacts"].(map[string]any); ok {
			j.Artifacts = ciArtifacts{Paths: strs(a["paths"]), When: str(a["when"]), ExpireIn: str(a["expire_in"])}
		}
		if rules, ok := m["rules"].([]any); ok {
			for _, r := range rules {
				rm, _ := r.(map[string]any)
				j.Rules = append(j.Rules, ciRule{If: str(rm["if"]), When: str(rm["when"])})
			}
		}
		jobs[name] = j
	}
	return jobs, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func strs(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			out = append(out, fmt.Sprint(x))
		}
		return out
	case map[string]any: // only: {refs: [...]}
		return strs(t["refs"])
	}
	return nil
}

// decide returns how a job enters an API-triggered pipeline: "" when it
// does not, else "on_success" or "manual", following GitLab's rules
// (first matching rule wins; no rules: only/except, then when).
func (j *ciJob) decide(vars map[string]string) string {
	if len(j.Rules) > 0 {
		for _, r := range j.Rules {
			if r.If != "" && !evalIf(r.If, vars) {
				continue
			}
			switch r.When {
			case "never":
				return ""
			case "":
				return defaultWhen(j.When)
			default:
				return r.When
			}
		}
		return ""
	}
	source := vars["CI_PIPELINE_SOURCE"]
	if len(j.Only) > 0 && !contains(j.Only, source) && !contains(j.Only, "branches") && !contains(j.Only, vars["CI_COMMIT_BRANCH"]) {
		return ""
	}
	if contains(j.Except, source) {
		return ""
	}
	return defaultWhen(j.When)
}

func defaultWhen(w string) string {
	if w == "" {
		return "on_success"
	}
	return w
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// evalIf evaluates the subset of GitLab's rules:if expressions that chat
// jobs use: $VAR, "string", 'string', null, == and !=, &&, || and
// parentheses. Anything else (regex matches) is false.
func evalIf(expr string, vars map[string]string) bool {
	p := &exprParser{toks: tokenize(expr), vars: vars}
	v := p.or()
	return p.pos == len(p.toks) && v
}

type exprParser struct {
	toks []string
	pos  int
	vars map[string]string
}

func (p *exprParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *exprParser) or() bool {
	v := p.and()
	for p.peek() == "||" {
		p.pos++
		v = p.and() || v
	}
	return v
}

func (p *exprParser) and() bool {
	v := p.atom()
	for p.peek() == "&&" {
		p.pos++
		v = p.atom() && v
	}
	return v
}

func (p *exprParser) atom() bool {
	if p.peek() == "(" {
		p.pos++
		v := p.or()
		if p.peek() == ")" {
			p.pos++
		}
		return v
	}
	left, lok := p.operand()
	switch p.peek() {
	case "==", "!=":
		op := p.peek()
		p.pos++
		right, rok := p.operand()
		eq := lok == rok && left == right
		if op == "==" {
			return eq
		}
		return !eq
	}
	return lok && left != ""
}

// operand returns a value and whether it is defined (null is not).
func (p *exprParser) operand() (string, bool) {
	t := p.peek()
	p.pos++
	switch {
	case strings.HasPrefix(t, "$"):
		v, ok := p.vars[strings.Trim(t[1:], "{}")]
		return v, ok
	case t == "null":
		return "", false
	case len(t) >= 2 && (t[0] == '"' || t[0] == '\''):
		return t[1 : len(t)-1], true
	}
	return t, true
}

func tokenize(s string) []string {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '(' || c == ')':
			toks = append(toks, string(c))
			i++
		case strings.HasPrefix(s[i:], "==") || strings.HasPrefix(s[i:], "!=") || strings.HasPrefix(s[i:], "&&") || strings.HasPrefix(s[i:], "||") || strings.HasPrefix(s[i:], "=~"):
			toks = append(toks, s[i:i+2])
			i += 2
		case c == '"' || c == '\'':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				toks = append(toks, s[i:])
				return toks
			}
			toks = append(toks, s[i:i+j+2])
			i += j + 2
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t()=!&|", rune(s[j])) {
				j++
			}
			if j == i {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks
}
