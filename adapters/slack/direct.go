package slack

import (
	"context"
	"errors"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/chatops-dev/chatops/bot"
)

// OpenDirect implements bot.DirectOpener with conversations.open (scope
// im:write): the bot's direct conversation with m's sender, which Slack
// opens or, when it exists, returns.
func (a *Adapter) OpenDirect(ctx context.Context, m bot.Message) (bot.Conversation, error) {
	user := m.Sender.ID
	if user == "" {
		return bot.Conversation{}, bot.Permanent(errors.New("slack: conversations.open: the message has no sender"))
	}
	var ch *slack.Channel
	// Keyed by the user: opens for one user are serialized like posts to
	// one channel, and wait out conversations.open's own rate limit.
	err := a.call(ctx, user, "conversations.open", func() error {
		var err error
		ch, _, _, err = a.api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}})
		return err
	})
	if err != nil {
		return bot.Conversation{}, err
	}
	if ch == nil || ch.ID == "" {
		return bot.Conversation{}, fmt.Errorf("slack: conversations.open for %s: no channel in the answer", user)
	}
	return bot.Conversation{ChannelID: ch.ID, Direct: true}, nil
}
