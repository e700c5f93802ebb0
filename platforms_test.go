package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/chatops-dev/chatops/adapters/discord/discordtest"
	"github.com/chatops-dev/chatops/adapters/mattermost/mattermosttest"
	"github.com/chatops-dev/chatops/adapters/slack/slacktest"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
)

// platforms is the demo GitLab and the three chat platforms' fakes, each
// with a user mapped to the demo's GitLab user: what the tests that wire
// the real process with every adapter share.
type platforms struct {
	demo   *gitlabtest.Demo
	sl     *slacktest.Server
	mm     *mattermosttest.Server
	mmUser string
	dc     *discordtest.Server
}

// startPlatforms starts them; they stop when the test ends.
func startPlatforms(t *testing.T, ctx context.Context) *platforms {
	t.Helper()
	demo, err := gitlabtest.NewDemo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(demo.Close)
	p := &platforms{demo: demo, sl: slacktest.New(), mm: mattermosttest.New(), dc: discordtest.New()}
	t.Cleanup(p.sl.Close)
	t.Cleanup(p.mm.Close)
	t.Cleanup(p.dc.Close)
	p.mmUser = p.mm.AddUser("alice", false)
	t.Setenv("TEST_GITLAB_TOKEN", p.demo.Token)
	return p
}

// config writes a configuration with head (sections before [gitlab]),
// the [gitlab] section plus gitlabExtra lines, the identities and the
// three platforms, and returns its path. The GitLab token is read from
// $TEST_GITLAB_TOKEN, as operators keep secrets out of the file.
func (p *platforms) config(t *testing.T, head, gitlabExtra string) string {
	t.Helper()
	cfg := head + fmt.Sprintf(`
[gitlab]
url = %q
token = "${TEST_GITLAB_TOKEN}"
project = %q
poll_interval = "30ms"
%s
[identities]
"slack:U1" = "demo"
"mattermost:%s" = "demo"
"discord:u1" = "demo"
[slack]
app_token = %q
bot_token = %q
api_url = %q
[mattermost]
url = %q
token = %q
[discord]
token = %q
api_url = %q
`, p.demo.URL, p.demo.Project, gitlabExtra, p.mmUser, p.sl.AppToken, p.sl.BotToken, p.sl.APIURL(), p.mm.URL(), p.mm.BotToken, p.dc.Token, p.dc.URL())
	path := filepath.Join(t.TempDir(), "chatops.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
