package discord

import (
	"context"
	"runtime/debug"
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

// ackTimeout is Discord's rule for an interaction's initial response: it
// must arrive within 3 seconds, or the user sees "The application did not
// respond" and the token cannot answer any more.
const ackTimeout = 3 * time.Second

// acknowledge answers an interaction within Discord's 3 seconds (deferred:
// the reply edits it later) and delivers the command. A 429 on the
// acknowledgement is waited out like any REST call's, within those 3
// seconds.
func (a *Adapter) acknowledge(i *discordgo.Interaction, deliver func(bot.Message)) {
	defer a.recoverInteraction("/chatops")
	ctx, cancel := context.WithTimeout(context.Background(), ackTimeout)
	defer cancel()
	s := a.session()
	err := a.rest(ctx, func(opt discordgo.RequestOption) error {
		return s.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource}, opt)
	})
	if err != nil {
		a.log.Warn("could not acknowledge /chatops", "err", err)
		return
	}
	if _, ok := commandText(i); !ok {
		// A leftover command registered with other options (an integer,
		// none), or a value that is not a string: say how to use it
		// instead of guessing.
		usage := "Usage: /chatops command:<command and arguments>, for example /chatops command:run deploy production"
		ectx, ecancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer ecancel()
		err := a.rest(ectx, func(opt discordgo.RequestOption) error {
			_, err := s.InteractionResponseEdit(i, &discordgo.WebhookEdit{Content: &usage}, opt)
			return err
		})
		if err != nil {
			a.log.Warn("could not answer a /chatops with unexpected options", "err", err)
		}
		return
	}
	deliver(fromInteraction(i, a.now()))
}

// recoverInteraction ends an interaction's goroutine quietly when it
// panics: it runs outside safeDispatch's recover (the acknowledgement must
// not hold the gateway loop), and an unrecovered panic there would end the
// whole process. The interaction is dropped and logged.
func (a *Adapter) recoverInteraction(what string) {
	if p := recover(); p != nil {
		a.log.Error("handling an interaction panicked; it is dropped", "interaction", what, "panic", p, "stack", string(debug.Stack()))
	}
}
