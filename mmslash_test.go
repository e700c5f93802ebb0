package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/adapters/mattermost/mattermosttest"
	"github.com/chatops-dev/chatops/bot/bottest"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
)

// mattermostSlashConfig is a configuration with GitLab (the demo) and
// Mattermost (the fake) with slash commands on, the token in
// $TEST_MM_SLASH_TOKEN, and head before it.
func mattermostSlashConfig(t *testing.T, head string, demo *gitlabtest.Demo, mm *mattermosttest.Server, user string) string {
	t.Helper()
	cfg := head + fmt.Sprintf(`
[gitlab]
url = %q
token = "${TEST_GITLAB_TOKEN}"
project = %q
poll_interval = "30ms"
[identities]
"mattermost:%s" = "demo"
[mattermost]
url = %q
token = %q
slash_tokens = ["${TEST_MM_SLASH_TOKEN}"]
`, demo.URL, demo.Project, user, mm.URL(), mm.BotToken)
	path := filepath.Join(t.TempDir(), "chatops.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestMattermostSlashCommandOnTheListener wires the real process with
// slash commands on: the route is mounted on [http] addr, the fake server
// runs "/chatops run hello-world" there and the answer is the bot's post
// in the channel; the slash token is never logged, even at debug level.
// Without [http] addr the same configuration is refused.
func TestMattermostSlashCommandOnTheListener(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	demo, err := gitlabtest.NewDemo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer demo.Close()
	mm := mattermosttest.New()
	defer mm.Close()
	user := mm.AddUser("alice", false)
	cmd := mm.AddCommand("chatops", "")
	t.Setenv("TEST_GITLAB_TOKEN", demo.Token)
	t.Setenv("TEST_MM_SLASH_TOKEN", cmd.Token)

	t.Run("refused without [http] addr", func(t *testing.T) {
		path := mattermostSlashConfig(t, "", demo, mm, user)
		_, err := setup(ctx, options{configPath: path}, strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "[mattermost] slash_tokens: slash commands need the HTTP listener") || !strings.Contains(err.Error(), "[http] addr") {
			t.Fatalf("err = %v, want the config error naming slash_tokens and [http] addr", err)
		}
	})

	path := mattermostSlashConfig(t, "[log]\nlevel = \"debug\"\n[http]\naddr = \"127.0.0.1:0\"\n", demo, mm, user)
	stderr := &bottest.Buffer{}
	a, stop := runApp(t, ctx, path, &bytes.Buffer{}, stderr)
	defer stop()
	if err := mm.WaitConnected(ctx, 1); err != nil {
		t.Fatal(err)
	}
	mm.SetCommandURL(cmd.ID, "http://"+a.httpAddr+"/mattermost/command")

	if _, err := mm.ExecuteCommand(ctx, mm.ChannelID, user, "/chatops run hello-world"); err != nil {
		t.Fatal(err)
	}
	for {
		r, err := mm.NextBotPost(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if r.Webhook || r.Ephemeral || r.Post.ChannelId != mm.ChannelID {
			t.Fatalf("answer %+v, want the bot's post in the channel", r)
		}
		if strings.Contains(r.Post.Message, "Hello World") {
			break
		}
	}
	if !strings.Contains(stderr.String(), "POST /mattermost/command") {
		t.Errorf("the listener's log line does not name the slash command route:\n%s", stderr)
	}
	if strings.Contains(stderr.String(), cmd.Token) {
		t.Error("the slash token was logged")
	}
}
