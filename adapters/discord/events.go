package discord

import (
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

// fromInteraction turns a /chatops invocation into a message. The
// interaction token, when it was issued and whether the bot may post in
// the channel travel in Conversation.Handle (see handle.go), so replies
// and later edits, even from another process, edit the deferred answer
// while the token lives and know where to go after.
// stringOption reports an interaction shaped as registered: one string
// option. discordgo's StringValue panics on any other type.
func stringOption(i *discordgo.Interaction) bool {
	opts := i.ApplicationCommandData().Options
	return len(opts) == 1 && opts[0].Type == discordgo.ApplicationCommandOptionString
}

func fromInteraction(i *discordgo.Interaction, now time.Time) bot.Message {
	text := ""
	if stringOption(i) {
		text = i.ApplicationCommandData().Options[0].StringValue()
	}
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
