package discord

import (
	"context"
	"errors"

	"github.com/bwmarrin/discordgo"

	"github.com/chatops-dev/chatops/bot"
)

// OpenDirect implements bot.DirectOpener with POST /users/@me/channels
// {recipient_id}: Discord returns the DM channel between the bot and m's
// sender, created or existing. It needs no intent or permission; whether
// the user accepts the bot's DMs is only known when posting there (a
// permanent 403, code 50007, when they do not).
func (a *Adapter) OpenDirect(ctx context.Context, m bot.Message) (bot.Conversation, error) {
	s := a.session()
	if s == nil {
		return bot.Conversation{}, errors.New("discord: open a DM: not connected yet")
	}
	if m.Sender.ID == "" {
		return bot.Conversation{}, bot.Permanent(errors.New("discord: open a DM: the message has no sender"))
	}
	var ch *discordgo.Channel
	err := a.rest(ctx, func(opt discordgo.RequestOption) error {
		var err error
		ch, err = s.UserChannelCreate(m.Sender.ID, opt)
		return err
	})
	if err != nil {
		return bot.Conversation{}, classify("open a DM", err)
	}
	if ch == nil || ch.ID == "" {
		return bot.Conversation{}, errors.New("discord: open a DM: no channel in the answer")
	}
	return bot.Conversation{ChannelID: ch.ID, Direct: true}, nil
}
