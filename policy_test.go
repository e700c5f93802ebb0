package main

import (
	"testing"

	"github.com/chatops-dev/chatops/bot/config"
)

// TestJobPolicy: [jobs.<name>] becomes the global rules and
// [projects.<alias>.jobs.<name>] the project's, keyed by its path as the
// run plugin names projects.
func TestJobPolicy(t *testing.T) {
	cfg, err := config.Parse(`
[shell]
[gitlab]
url = "https://gitlab.example.com"
token = "t"
project = "g/app"
[projects.api]
path = "g/api"
[projects.api.jobs.deploy]
users = ["alice"]
[jobs.deploy]
min_role = "maintainer"
groups = ["platform/ops"]
channels = ["slack:C1"]
confirm = true
variables = ["VERSION"]
`, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	s := jobPolicy(cfg)
	app := s.For("g/app", "deploy")
	if app.MinRole != "maintainer" || len(app.Groups) != 1 || len(app.Channels) != 1 || !app.Confirm || len(app.Variables) != 1 {
		t.Errorf("g/app deploy: %+v", app)
	}
	api := s.For("g/api", "deploy")
	if len(api.Users) != 1 || api.MinRole != "" || api.Confirm {
		t.Errorf("g/api deploy: %+v (the project's policy replaces the global one)", api)
	}
	if cfg.Bot.ConfirmTimeout.Duration.Minutes() != 5 {
		t.Errorf("confirm_timeout default %v", cfg.Bot.ConfirmTimeout.Duration)
	}
}
