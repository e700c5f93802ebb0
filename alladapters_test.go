package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/adapters/discord/discordtest"
)

// TestAllAdaptersInOneProcess wires the real process from a config file
// with all three chat platforms (each a fake speaking its wire protocol,
// driven through the real client library) and a GitLab, then runs
// `run hello-world` from each platform at once: every answer must arrive
// in the thread of its command.
func TestAllAdaptersInOneProcess(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := startPlatforms(t, ctx)
	demo, sl, mm, mmUser, dc := p.demo, p.sl, p.mm, p.mmUser, p.dc
	path := p.config(t, "[bot]\nname = \"chatops\"\n[log]\nlevel = \"error\"\n", "")
	var stdout, stderr bytes.Buffer
	_, stop := runApp(t, ctx, path, &stdout, &stderr)
	defer stop()

	if err := sl.WaitConnections(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := mm.WaitConnected(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := dc.WaitSessions(ctx, 1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return dc.Connected() == 1 && len(dc.Commands()) == 1 })

	// All three at once.
	slackCmd := sl.Mention("C1", "U1", "run hello-world")
	mmCmd := mm.Post(mm.ChannelID, mmUser, "@chatops run hello-world", "")
	dcCmd := dc.Send(discordtest.Message{ChannelID: "c1", GuildID: "g1", AuthorID: "u1", Content: "<@" + dc.BotID + "> run hello-world"})

	results := make(chan string, 3)
	go func() {
		for {
			p, err := sl.NextPost(ctx)
			if err != nil {
				results <- "slack: " + err.Error()
				return
			}
			if p.Method == "chat.postMessage" && p.ThreadTS != slackCmd.TS {
				results <- "slack: reply outside the command's thread"
				return
			}
			if strings.Contains(string(p.Blocks), "Hello World") {
				results <- "slack ok"
				return
			}
		}
	}()
	go func() {
		for {
			r, err := mm.NextBotPost(ctx)
			if err != nil {
				results <- "mattermost: " + err.Error()
				return
			}
			if r.Post.RootId != mmCmd.Id {
				results <- "mattermost: reply outside the command's thread"
				return
			}
			if strings.Contains(r.Post.Message, "Hello World") {
				results <- "mattermost ok"
				return
			}
		}
	}()
	go func() {
		for {
			p, err := dc.NextPost(ctx)
			if err != nil {
				results <- "discord: " + err.Error()
				return
			}
			if p.Kind == "create" && p.ReplyTo != dcCmd {
				results <- "discord: reply does not reference the command"
				return
			}
			if strings.Contains(p.Content, "Hello World") {
				results <- "discord ok"
				return
			}
		}
	}()
	for range 3 {
		if r := <-results; !strings.HasSuffix(r, " ok") {
			t.Error(r)
		}
	}
	if n := len(demo.Pipelines()); n != 3 {
		t.Errorf("%d pipelines, want one per platform", n)
	}
	platforms := map[string]bool{}
	for _, p := range demo.Pipelines() {
		platforms[p.Variables["CHAT_USER_ID"]] = true
	}
	if !platforms["U1"] || !platforms[mmUser] || !platforms["u1"] {
		t.Errorf("CHAT_USER_ID per pipeline: %v", platforms)
	}
	if t.Failed() {
		t.Logf("stderr:\n%s", stderr.String())
	}
}

// runApp wires the process from the configuration at path, as main does,
// and runs its bot, its output going to stdout and stderr, until stop,
// which the caller defers so that the bot stops before the fakes it
// talks to close.
func runApp(t *testing.T, ctx context.Context, path string, stdout, stderr io.Writer) (a *app, stop func()) {
	t.Helper()
	a, err := setup(ctx, options{configPath: path}, strings.NewReader(""), stdout, stderr)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.bot.Run(runCtx) }()
	return a, func() {
		cancel()
		<-done
		a.close()
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
