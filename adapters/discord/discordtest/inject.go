package discordtest

// What tests make users do: messages, guild membership, /chatops
// invocations, each dispatched as the gateway event Discord sends.

import (
	"strings"
	"time"
)

// Message is a user message to dispatch.
type Message struct {
	ChannelID string
	// GuildID is empty for a DM.
	GuildID  string
	AuthorID string
	Bot      bool
	Content  string
	// ID is set by Send; reuse it to redeliver.
	ID string
}

// Send dispatches MESSAGE_CREATE for m and returns its id. Like Discord,
// sessions without the Message Content intent get an empty content for
// guild messages that neither mention the bot (as a user, or through its
// managed role) nor were written by it.
func (s *Server) Send(m Message) string {
	if m.ID == "" {
		m.ID = s.id()
	}
	mentions := []any{}
	if strings.Contains(m.Content, "<@"+s.BotID+">") || strings.Contains(m.Content, "<@!"+s.BotID+">") {
		mentions = append(mentions, map[string]any{"id": s.BotID, "username": "chatops", "discriminator": "0", "bot": true})
	}
	roles := []any{}
	s.mu.Lock()
	botRole := s.botRoles[m.GuildID]
	s.mu.Unlock()
	if botRole != "" && strings.Contains(m.Content, "<@&"+botRole+">") {
		roles = append(roles, botRole)
	}
	d := map[string]any{"id": m.ID, "channel_id": m.ChannelID, "content": m.Content, "type": 0,
		"timestamp": time.Now().UTC().Format(time.RFC3339), "mentions": mentions, "mention_roles": roles,
		"attachments": []any{}, "embeds": []any{},
		"author": map[string]any{"id": m.AuthorID, "username": "user" + m.AuthorID, "discriminator": "0", "bot": m.Bot}}
	if m.GuildID != "" {
		d["guild_id"] = m.GuildID
	}
	visible := m.GuildID == "" || len(mentions) > 0 || len(roles) > 0 || m.AuthorID == s.BotID
	s.dispatch("MESSAGE_CREATE", d, func(intents int, d map[string]any) map[string]any {
		if intents&IntentMessageContent != 0 || visible {
			return d
		}
		blank := make(map[string]any, len(d))
		for k, v := range d {
			blank[k] = v
		}
		blank["content"] = ""
		return blank
	})
	return m.ID
}

// AddGuild makes the bot a member of guild with its managed role roleID
// (the role Discord creates for a bot, tags.bot_id = the bot's id). Sessions
// get GUILD_CREATE with the guild's roles, as Discord sends after READY to
// sessions with the GUILDS intent.
func (s *Server) AddGuild(guildID, roleID string) {
	g := map[string]any{"id": guildID, "name": "guild " + guildID, "unavailable": false,
		"roles": []any{
			map[string]any{"id": guildID, "name": "@everyone", "permissions": "0", "managed": false},
			map[string]any{"id": roleID, "name": "chatops", "permissions": "0", "managed": true, "tags": map[string]any{"bot_id": s.BotID}},
			map[string]any{"id": roleID + "9", "name": "other bot", "permissions": "0", "managed": true, "tags": map[string]any{"bot_id": "777"}},
		},
		"channels": []any{}, "members": []any{}}
	s.mu.Lock()
	s.guilds = append(s.guilds, g)
	s.botRoles[guildID] = roleID
	s.mu.Unlock()
	s.dispatch("GUILD_CREATE", g, func(intents int, d map[string]any) map[string]any {
		if intents&IntentGuilds == 0 {
			return nil
		}
		return d
	})
}

// Interaction is an application command invocation for InteractionWith.
type Interaction struct {
	ChannelID, GuildID, UserID, Text string
	// CannotPost leaves SEND_MESSAGES out of app_permissions: the bot may
	// not post in the channel (a user-installed command, a private channel).
	CannotPost bool
	// IntegerOption sends the option as an integer (type 4), as a
	// leftover guild command registered by an older version would.
	IntegerOption bool
}

// Interaction dispatches a /chatops application command with the text in
// its "command" option and returns the interaction id.
func (s *Server) Interaction(channelID, guildID, userID, text string) string {
	return s.InteractionWith(Interaction{ChannelID: channelID, GuildID: guildID, UserID: userID, Text: text})
}

// InteractionWith dispatches a /chatops application command. Its token
// accepts one callback within 3 seconds and webhook calls for 15 minutes
// of the fake's clock (see Advance).
func (s *Server) InteractionWith(in Interaction) string {
	id := s.id()
	token := "itoken-" + id
	perms := "274877975552" // View Channels, Send Messages (+ threads, history)
	if in.CannotPost {
		perms = "1024"
	}
	d := map[string]any{"id": id, "application_id": s.AppID, "type": 2, "token": token, "version": 1, "channel_id": in.ChannelID,
		"app_permissions": perms,
		"data":            map[string]any{"id": "cmd-1", "name": "chatops", "type": 1, "options": []any{map[string]any{"name": "command", "type": 3, "value": in.Text}}}}
	if in.IntegerOption {
		d["data"] = map[string]any{"id": "cmd-0", "name": "chatops", "type": 1, "options": []any{map[string]any{"name": "count", "type": 4, "value": 3}}}
	}
	s.sendInteraction(d, id, token, in.ChannelID, in.GuildID, in.UserID)
	return id
}

// sendInteraction completes an interaction payload d with who sent it (a
// member in a guild, a user in a DM, and the matching context), registers
// its token (one callback within 3 seconds, webhook calls for 15 minutes)
// and dispatches INTERACTION_CREATE: the part commands and button clicks
// share.
func (s *Server) sendInteraction(d map[string]any, id, token, channelID, guildID, userID string) {
	user := map[string]any{"id": userID, "username": "user" + userID, "discriminator": "0"}
	if guildID != "" {
		d["guild_id"] = guildID
		d["member"] = map[string]any{"user": user, "roles": []any{}}
		d["context"] = 0
	} else {
		d["user"] = user
		d["context"] = 1
	}
	s.mu.Lock()
	s.interactions[token] = &interaction{id: id, created: s.now(), channel: channelID}
	s.mu.Unlock()
	s.dispatch("INTERACTION_CREATE", d, nil)
}
