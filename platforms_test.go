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
`, p.demo.URL, p.demo.Project, gitlabExtra) + chatSections(p.sl, p.mm, p.dc, p.mmUser, "demo")
	path := filepath.Join(t.TempDir(), "chatops.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// chatSections is the [identities] of the one chat user on each fake
// (Slack U1, Mattermost mmUser, Discord u1), mapped to gitlabUser, and
// the three platforms' sections pointing at the fakes.
func chatSections(sl *slacktest.Server, mm *mattermosttest.Server, dc *discordtest.Server, mmUser, gitlabUser string) string {
	return fmt.Sprintf(`
[identities]
"slack:U1" = %[1]q
"mattermost:%[2]s" = %[1]q
"discord:u1" = %[1]q
[slack]
app_token = %[3]q
bot_token = %[4]q
api_url = %[5]q
[mattermost]
url = %[6]q
token = %[7]q
[discord]
token = %[8]q
api_url = %[9]q
`, gitlabUser, mmUser, sl.AppToken, sl.BotToken, sl.APIURL(), mm.URL(), mm.BotToken, dc.Token, dc.URL())
}
