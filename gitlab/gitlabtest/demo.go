package gitlabtest

import (
	"context"
	_ "embed"
	"errors"
	"sort"

	"gopkg.in/yaml.v3"
)

//go:embed demo-gitlab-ci.yml
var demoCI string

// DemoCIConfig is the demo project's .gitlab-ci.yml.
func DemoCIConfig() string { return demoCI }

// JobInfo names a chat job and what it does.
type JobInfo struct {
	Name        string
	Description string
}

// Demo is a fake GitLab serving the demo project, whose jobs really run
// (bash in a temporary directory) and write GitLab Runner logs.
type Demo struct {
	*Server
	// URL, Token and Project are what a gitlab.Config needs.
	URL, Token, Project string
	// User is the demo GitLab user (a Maintainer) chat users map to.
	User string
	// Jobs are the jobs runnable from chat.
	Jobs []JobInfo
}

// NewDemo starts the demo GitLab. It runs until Close.
func NewDemo(_ context.Context) (*Demo, error) {
	s := New(Options{CIConfig: demoCI, Token: "glpat-demo", ProjectPath: "demo/chatops"})
	s.AddUser("demo", Maintainer)
	jobs, err := DemoJobs()
	if err != nil {
		s.Close()
		return nil, err
	}
	for _, i := range demoIssues {
		s.AddIssue(i)
	}
	return &Demo{Server: s, URL: s.URL(), Token: s.Token, Project: s.ProjectPath, User: "demo", Jobs: jobs}, nil
}

// DeployStaging pushes main, as a developer would: its pipeline deploys
// staging and leaves deploy-production waiting, for deploy staging to
// production to play. It returns once staging is deployed. The demo does
// it at start; tests that count pipelines need not.
func (d *Demo) DeployStaging(ctx context.Context) error {
	if d.Push("main") == 0 {
		return errors.New("gitlabtest: the demo's push created no pipeline")
	}
	return d.WaitJobStatus(ctx, "deploy-staging", "success")
}

// demoIssues are the demo project's issues: issue show 1, issue search
// deploy.
var demoIssues = []Issue{
	{Title: "Deploy button does nothing on Safari", Labels: []string{"bug", "frontend"}, Author: "demo", Assignees: []string{"demo"},
		Description: "Clicking **Deploy** shows a spinner forever on Safari 17.\n\nSteps:\n1. Open the pipeline page\n2. Click Deploy\n\nExpected: the job starts."},
	{Title: "Document deploy staging to production", Labels: []string{"documentation"}, Author: "demo",
		Description: "Explain in the README how chat promotes staging to production."},
	{Title: "Rotate the staging database password", Labels: []string{"ops"}, Author: "demo", Closed: true,
		Description: "Done in the last maintenance window."},
}

// DemoJobs lists the demo's chat jobs with their CHATOPS_HELP text.
func DemoJobs() ([]JobInfo, error) {
	var raw map[string]yaml.Node
	if err := yaml.Unmarshal([]byte(demoCI), &raw); err != nil {
		return nil, err
	}
	var out []JobInfo
	for name, node := range raw {
		var job struct {
			Variables map[string]string `yaml:"variables"`
		}
		if reserved[name] || name[0] == '.' || node.Decode(&job) != nil {
			continue
		}
		if help, ok := job.Variables["CHATOPS_HELP"]; ok {
			out = append(out, JobInfo{Name: name, Description: help})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
