package discord

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
)

// Interaction token rules, as Discord documents them: a token answers
// webhooks (edit the deferred reply, follow-ups) for 15 minutes.
const (
	tokenLifetime = 15 * time.Minute
	// tokenMargin stops using a token a little early, so a call does not
	// race its expiry.
	tokenMargin = 30 * time.Second
)

// handlePrefix versions the encoding of Conversation.Handle.
const handlePrefix = "i1?"

// interactionHandle is what Conversation.Handle carries for a /chatops
// interaction: everything a reply or an edit needs, so that it works from
// a Sent restored from a database in another process.
type interactionHandle struct {
	Token   string
	Issued  time.Time // zero when unknown
	CanPost bool      // the bot may post in the channel after the token expires
	// Click marks a button click's token: it was acknowledged with a
	// deferred update, so its @original is the clicked message and an
	// ephemeral follow-up is possible at once (see Whisper).
	Click bool
}

func (h interactionHandle) encode() string {
	v := url.Values{"t": {h.Token}, "post": {"0"}}
	if !h.Issued.IsZero() {
		v.Set("at", strconv.FormatInt(h.Issued.UnixMilli(), 10))
	}
	if h.CanPost {
		v.Set("post", "1")
	}
	if h.Click {
		v.Set("click", "1")
	}
	return handlePrefix + v.Encode()
}

// decodeHandle reads a Handle; a bare token (from before the encoding) is
// taken as one whose age is unknown in a channel the bot may post in.
func decodeHandle(s string) interactionHandle {
	q, ok := strings.CutPrefix(s, handlePrefix)
	if !ok {
		return interactionHandle{Token: s, CanPost: true}
	}
	v, err := url.ParseQuery(q)
	if err != nil {
		return interactionHandle{}
	}
	h := interactionHandle{Token: v.Get("t"), CanPost: v.Get("post") == "1", Click: v.Get("click") == "1"}
	if ms, err := strconv.ParseInt(v.Get("at"), 10, 64); err == nil {
		h.Issued = time.UnixMilli(ms)
	}
	return h
}

// alive reports whether the token may still be used at now.
func (h interactionHandle) alive(now time.Time) bool {
	return h.Token != "" && (h.Issued.IsZero() || now.Sub(h.Issued) < tokenLifetime-tokenMargin)
}

// Permission bits of app_permissions.
const (
	permViewChannel  = 1 << 10
	permSendMessages = 1 << 11
)

// mayPost tells from an interaction whether the bot itself may post in its
// channel: in a guild, app_permissions must allow viewing and sending; a
// DM with the bot is fine, a DM or group DM between users (a user-installed
// command) is not.
func mayPost(i *discordgo.Interaction) bool {
	if i.GuildID != "" {
		if i.AppPermissions == 0 {
			return true // not sent: assume the installation's permissions
		}
		p := i.AppPermissions
		return p&permViewChannel != 0 && p&permSendMessages != 0
	}
	return i.Context != discordgo.InteractionContextPrivateChannel
}
