package discord

import (
	"context"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/chatops-dev/chatops/bot"
)

// The bot's managed role, the /chatops application command and its
// acknowledgement: how chatops is addressed on Discord besides a mention
// of its user.

// role is the part of a guild role that tells the bot's managed role.
type role struct {
	ID   string `json:"id"`
	Tags struct {
		BotID string `json:"bot_id"`
	} `json:"tags"`
}

// learnRole remembers the bot's managed role in a guild: Discord's mention
// picker often inserts it (<@&role>) instead of the bot user.
func (a *Adapter) learnRole(guild string, r role) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if r.Tags.BotID != "" && r.Tags.BotID == a.botID {
		a.botRoles[guild] = r.ID
	}
}

// commandName is the application command users type: /chatops <command>.
const commandName = "chatops"

func (a *Adapter) registerCommand() {
	s := a.session()
	a.mu.Lock()
	appID := a.appID
	a.mu.Unlock()
	_, err := s.ApplicationCommandBulkOverwrite(appID, "", []*discordgo.ApplicationCommand{{
		Name: commandName, Description: "Run a chatops command, e.g. run deploy production",
		Options: []*discordgo.ApplicationCommandOption{{
			Type: discordgo.ApplicationCommandOptionString, Name: "command", Description: "The command and its arguments", Required: true,
		}},
	}})
	if err != nil {
		a.log.Warn("could not register the /chatops command", "err", err)
	}
}

// acknowledge answers an interaction within Discord's 3 seconds (deferred:
// the reply edits it later) and delivers the command.
func (a *Adapter) acknowledge(i *discordgo.Interaction, deliver func(bot.Message)) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err := a.session().InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource}, discordgo.WithContext(ctx))
	if err != nil {
		a.log.Warn("could not acknowledge /chatops", "err", err)
		return
	}
	if !stringOption(i) {
		// A leftover command registered with other options (an integer,
		// none): say how to use it instead of guessing.
		usage := "Usage: /chatops command:<command and arguments>, for example /chatops command:run deploy production"
		ectx, ecancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer ecancel()
		if _, err := a.session().InteractionResponseEdit(i, &discordgo.WebhookEdit{Content: &usage}, discordgo.WithContext(ectx)); err != nil {
			a.log.Warn("could not answer a /chatops with unexpected options", "err", err)
		}
		return
	}
	deliver(fromInteraction(i, a.now()))
}
