package slack_test

import (
	"context"
	"log/slog"

	"github.com/chatops-dev/chatops/adapters/slack"
	"github.com/chatops-dev/chatops/adapters/slack/slacktest"
	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/commands"
)

// Wiring the adapter against the fake, as an all-adapters test would; with
// a real workspace, leave APIURL empty and use the workspace's tokens.
func Example() {
	fake := slacktest.New()
	defer fake.Close()
	a, err := slack.New(slack.Config{
		AppToken: fake.AppToken,
		BotToken: fake.BotToken,
		APIURL:   fake.APIURL(),
		Logger:   slog.Default(),
	})
	if err != nil {
		panic(err)
	}
	b := bot.New(commands.NewRouter("chatops"), bot.Options{}, a)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = b.Run(ctx) }()
	fake.Mention("C1", "U1", "help")
	post, _ := fake.NextPost(ctx)
	_ = post.ThreadTS // the reply is in the mention's thread
	cancel()
}
