package gitlabplugins_test

import (
	"strings"
	"testing"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/plugins/internal/plugintest"
)

func TestHelpAndProjectScopes(t *testing.T) {
	e := plugintest.New(t, plugintest.CI)
	tests := []struct {
		name, text string
		status     bot.Status
		want       []string
	}{
		{"overview", "help", bot.StatusInfo, []string{
			"issue show <id> | new <title> | search <query> | close <id> | comment <id> <comment> | move <id> to <project> — ",
			"deploy <environment> to <target-environment> — ", "run <job>[@ref] [arguments...] — "}},
		{"issue detail", "help issue", bot.StatusInfo, []string{"Examples:", "issue show 13", "issue move 13 to group/infra", "Reporter"}},
		{"deploy detail", "help deploy", bot.StatusInfo, []string{"Examples:", "deploy staging to production", "Developer"}},
		{"scoped deploy", "infra deploy staging to production", bot.StatusError, []string{"No environment staging in group/infra"}},
		{"scoped unknown", "infra frobnicate", bot.StatusError, []string{"infra run <job>", "infra deploy ...", "infra issue ..."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.Say("mia", "C-"+tt.name, tt.text)
			all := r.Title + "\n" + r.Text
			if r.Status != tt.status {
				t.Fatalf("status %s: %s", r.Status, all)
			}
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("reply lacks %q:\n%s", w, all)
				}
			}
		})
	}
}
