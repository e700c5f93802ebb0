// Package bot is the platform-neutral heart of chatops: the message and
// reply model every adapter speaks, the Adapter interface with its optional
// capabilities, and the Bot runtime that connects adapters to a handler.
//
// Nothing here imports a chat SDK or GitLab: adapters translate platform
// events into Message and render Reply, plugins only ever see these types.
package bot

import (
	"strings"
	"time"
)

// Message is one chat message as the bot sees it, after the adapter has
// translated the platform event.
type Message struct {
	// Platform names the adapter that received the message ("slack",
	// "mattermost", "discord", "shell"). Together with Sender.ID it forms
	// the identity key "platform:userID" used for access control.
	Platform string
	// EventID identifies the delivery for de-duplication: the same EventID
	// on the same platform is handled once. Adapters use the platform's
	// stable id for the underlying message (not for the delivery envelope),
	// so a message that arrives as two event types is handled once too.
	// Empty means "never de-duplicate".
	EventID string
	// ID is the platform's id of this message (Slack ts, Mattermost post id,
	// Discord message id); empty for slash commands and the terminal.
	ID string
	// Conversation says where the message was posted and where replies go.
	Conversation Conversation
	// Sender is who wrote the message.
	Sender User
	// Text is the text addressed to the bot, with the mention removed and
	// platform escapes (entities, link syntax) undone.
	Text string
	// Addressed reports whether the message was meant for the bot at all: a
	// mention at the start, a direct message or a slash command.
	Addressed bool
	// Received is when the adapter received the message.
	Received time.Time
	// Action is the ID of the reply button (Reply.Actions) the sender
	// clicked, "" for typed text. Adapters that render buttons deliver a
	// click as a message with Action set; the router serves it as the
	// command the ID names (see ActionText), so a click and the typed
	// command take one path.
	Action string
	// ActionOn is the platform id of the message whose button was
	// clicked, where the adapter can edit it afterwards (Slack); "" when
	// not a click or not editable that way. Handlers use it to take the
	// buttons off a question once it is answered.
	ActionOn string
}

// ActionText is the command an action ID stands for: IDs are
// "<command>:<argument>" ("confirm:K7Q2"), served as "<command> <argument>".
func ActionText(id string) string {
	cmd, arg, _ := strings.Cut(id, ":")
	return strings.TrimSpace(cmd + " " + arg)
}

// Conversation locates a message and is the address replies are sent to.
type Conversation struct {
	// ChannelID is the platform's immutable channel id (it becomes
	// CHAT_CHANNEL for GitLab jobs).
	ChannelID string
	// ThreadID is the thread replies belong in: the thread's root when the
	// message was in a thread, or the message's own id for a top-level
	// channel message on platforms that thread replies. Empty means replies
	// go to the channel itself.
	ThreadID string
	// Direct reports a one-to-one conversation with the bot.
	Direct bool
	// Handle is adapter-private data needed to answer (a Discord interaction
	// token, a Slack response URL). Only the adapter that set it reads it.
	Handle string
}

// User is a chat participant.
type User struct {
	// ID is the platform's immutable user id. It is the only field that may
	// be used for authorisation: names can be changed by their owner.
	ID string
	// Username is the handle (without "@"), for display only.
	Username string
	// DisplayName is the human name, for display only.
	DisplayName string
	// IsBot reports that the sender is a bot or integration.
	IsBot bool
	// IsSelf reports that the sender is this bot.
	IsSelf bool
}

// Identity is the key access control uses: "platform:userID".
func (m Message) Identity() string { return m.Platform + ":" + m.Sender.ID }
