package discord

import (
	"encoding/json"
	"runtime/debug"
	"strings"
	"time"
	"unicode"

	"github.com/bwmarrin/discordgo"

	"github.com/chatops-dev/chatops/bot"
)

// ParseMessage turns a gateway message into a bot.Message for the bot with
// id botID. ok is false for messages the bot never handles (system
// messages). A message is addressed when it starts with the bot's mention
// (<@id> or <@!id>) or is a DM.
func ParseMessage(m *discordgo.Message, botID string) (bot.Message, bool) {
	return parseMessage(m, botID, "")
}

// parseMessage is ParseMessage that also takes a leading mention of the
// bot's managed role in the message's guild (<@&roleID>) as addressing it.
func parseMessage(m *discordgo.Message, botID, roleID string) (bot.Message, bool) {
	if m == nil || m.ID == "" || m.Author == nil {
		return bot.Message{}, false
	}
	if m.Type != discordgo.MessageTypeDefault && m.Type != discordgo.MessageTypeReply {
		return bot.Message{}, false
	}
	direct := m.GuildID == ""
	text, mentioned := stripMention(m.Content, botID)
	if !mentioned && roleID != "" {
		text, mentioned = stripPrefix(m.Content, "<@&"+roleID+">")
	}
	conv := bot.Conversation{ChannelID: m.ChannelID, Direct: direct}
	if !direct {
		conv.ThreadID = m.ID // replies reference the command's message
	}
	return bot.Message{
		Platform:     "discord",
		EventID:      m.ID,
		ID:           m.ID,
		Conversation: conv,
		Sender: bot.User{ID: m.Author.ID, Username: m.Author.Username, DisplayName: m.Author.GlobalName,
			IsBot: m.Author.Bot, IsSelf: botID != "" && m.Author.ID == botID},
		Text:      text,
		Addressed: mentioned || direct,
		Received:  time.Now(),
	}, true
}

// stripMention removes a leading <@id> or <@!id> and the separator after
// it, reporting whether it was there.
func stripMention(content, botID string) (string, bool) {
	if botID == "" {
		return content, false
	}
	for _, m := range []string{"<@" + botID + ">", "<@!" + botID + ">"} {
		if rest, ok := stripPrefix(content, m); ok {
			return rest, true
		}
	}
	return content, false
}

// stripPrefix removes a leading mention and the separator after it.
func stripPrefix(content, mention string) (string, bool) {
	t := strings.TrimLeftFunc(content, unicode.IsSpace)
	if rest, ok := strings.CutPrefix(t, mention); ok {
		rest = strings.TrimPrefix(strings.TrimPrefix(rest, ":"), ",")
		return strings.TrimLeftFunc(rest, unicode.IsSpace), true
	}
	return content, false
}

// commandText is the text of a /chatops invocation shaped as registered:
// one string option with a string value. ok is false for anything else (a
// leftover registration with other options, or a value that is null or
// not a string): discordgo's StringValue panics on those, and the
// interaction is handled in its own goroutine, outside safeDispatch's
// recover, where a panic ends the process.
func commandText(i *discordgo.Interaction) (text string, ok bool) {
	data, ok := i.Data.(discordgo.ApplicationCommandInteractionData)
	if !ok || len(data.Options) != 1 || data.Options[0] == nil || data.Options[0].Type != discordgo.ApplicationCommandOptionString {
		return "", false
	}
	text, ok = data.Options[0].Value.(string)
	return text, ok
}

// fromInteraction turns a /chatops invocation into a message. The
// interaction token, when it was issued and whether the bot may post in
// the channel travel in Conversation.Handle (see handle.go), so replies
// and later edits, even from another process, edit the deferred answer
// while the token lives and know where to go after.
func fromInteraction(i *discordgo.Interaction, now time.Time) bot.Message {
	text, _ := commandText(i)
	u := i.User
	if i.Member != nil && i.Member.User != nil {
		u = i.Member.User
	}
	sender := bot.User{}
	if u != nil {
		sender = bot.User{ID: u.ID, Username: u.Username, DisplayName: u.GlobalName, IsBot: u.Bot}
	}
	return bot.Message{
		Platform: "discord", EventID: "interaction:" + i.ID,
		Conversation: bot.Conversation{ChannelID: i.ChannelID, Direct: i.GuildID == "",
			Handle: interactionHandle{Token: i.Token, Issued: now, CanPost: mayPost(i)}.encode()},
		Sender: sender, Text: text, Addressed: true, Received: now,
	}
}

// safeDispatch is dispatch that survives a panic on one event: it is
// logged and the connection goes on.
func (a *Adapter) safeDispatch(f frame, gs *gwSession, deliver func(bot.Message)) (ready bool) {
	defer func() {
		if p := recover(); p != nil {
			a.log.Error("an event handler panicked; the event is dropped, the connection kept", "event", f.T, "panic", p, "stack", string(debug.Stack()))
		}
	}()
	return a.dispatch(f, gs, deliver)
}

func (a *Adapter) dispatch(f frame, gs *gwSession, deliver func(bot.Message)) bool {
	switch f.T {
	case "READY":
		var r struct {
			SessionID string          `json:"session_id"`
			ResumeURL string          `json:"resume_gateway_url"`
			User      discordgo.User  `json:"user"`
			App       json.RawMessage `json:"application"`
		}
		_ = json.Unmarshal(f.D, &r)
		var app struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(r.App, &app)
		gs.id, gs.resumeURL = r.SessionID, r.ResumeURL
		a.mu.Lock()
		a.botID = r.User.ID
		a.appID = firstOf(app.ID, r.User.ID)
		first := !a.registered
		a.registered = true
		a.mu.Unlock()
		a.setState(bot.StateConnected)
		a.log.Info("discord connected", "bot", r.User.Username)
		if first {
			go a.registerCommand()
		}
		return true
	case "RESUMED":
		a.setState(bot.StateConnected)
		a.log.Info("discord session resumed")
		return true
	case "GUILD_CREATE":
		var g struct {
			ID    string `json:"id"`
			Roles []role `json:"roles"`
		}
		if json.Unmarshal(f.D, &g) == nil {
			for _, r := range g.Roles {
				a.learnRole(g.ID, r)
			}
		}
	case "GUILD_ROLE_CREATE", "GUILD_ROLE_UPDATE":
		var e struct {
			GuildID string `json:"guild_id"`
			Role    role   `json:"role"`
		}
		if json.Unmarshal(f.D, &e) == nil {
			a.learnRole(e.GuildID, e.Role)
		}
	case "MESSAGE_CREATE":
		var m discordgo.Message
		if json.Unmarshal(f.D, &m) != nil || !a.guilds.Allows(m.GuildID) {
			return false
		}
		a.mu.Lock()
		botID, roleID := a.botID, a.botRoles[m.GuildID]
		a.mu.Unlock()
		if msg, ok := parseMessage(&m, botID, roleID); ok {
			deliver(msg)
		}
	case "INTERACTION_CREATE":
		var i discordgo.Interaction
		if json.Unmarshal(f.D, &i) != nil || !a.guilds.Allows(i.GuildID) {
			return false
		}
		switch {
		case i.Type == discordgo.InteractionApplicationCommand && i.ApplicationCommandData().Name == commandName:
			go a.acknowledge(&i, deliver)
		case i.Type == discordgo.InteractionMessageComponent:
			go a.acknowledgeComponent(&i, deliver)
		}
	}
	return false
}
