package mattermost

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/chatops-dev/chatops/adapters/internal/responseurl"
	"github.com/chatops-dev/chatops/bot"
)

// SlashRequest is the form a Mattermost server posts to a custom slash
// command's Request URL (app.tryExecuteCustomCommand in Mattermost 9.9).
// The server also sends user_mentions/channel_mentions with their ids,
// which the bot does not need: the text keeps the @names.
type SlashRequest struct {
	Token       string // the command's token, also in "Authorization: Token ..."
	TeamID      string // the team the command belongs to
	TeamDomain  string // that team's name
	ChannelID   string
	ChannelName string // "<user id>__<user id>" for a direct message, as the request says
	UserID      string
	UserName    string
	Command     string // "/chatops"
	Text        string // what follows the trigger word
	TriggerID   string // unique per execution
	ResponseURL string // <site>/hooks/commands/<id>: 5 posts within 30 minutes
}

// ParseSlashForm reads a slash command request's form. It fails when a
// field the bot relies on is missing or malformed: the ids must be
// Mattermost ids, the response URL (when sent) an http(s) URL.
func ParseSlashForm(v url.Values) (SlashRequest, error) {
	r := SlashRequest{
		Token: v.Get("token"), TeamID: v.Get("team_id"), TeamDomain: v.Get("team_domain"),
		ChannelID: v.Get("channel_id"), ChannelName: v.Get("channel_name"),
		UserID: v.Get("user_id"), UserName: v.Get("user_name"),
		Command: v.Get("command"), Text: strings.TrimSpace(v.Get("text")),
		TriggerID: v.Get("trigger_id"), ResponseURL: v.Get("response_url"),
	}
	var errs []error
	for _, f := range []struct{ name, value string }{{"team_id", r.TeamID}, {"channel_id", r.ChannelID}, {"user_id", r.UserID}} {
		if !model.IsValidId(f.value) {
			errs = append(errs, fmt.Errorf("%s %q is not a Mattermost id", f.name, f.value))
		}
	}
	if r.ResponseURL != "" {
		u, err := url.Parse(r.ResponseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			// Not quoted: a response URL is a credential, and this error is
			// logged.
			errs = append(errs, errors.New("response_url is not an http(s) URL with a host"))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return SlashRequest{}, fmt.Errorf("slash command request: %w", err)
	}
	return r, nil
}

// Message is the request as a message to the bot, received at now; direct
// says whether the channel is the user's DM with the bot, as the server
// shows the channel to the bot (the request's channel_name, written by
// whoever holds the token, proves nothing). Replies go to the channel;
// the response URL travels in the Handle for where the bot may not post.
func (r SlashRequest) Message(direct bool, now time.Time) bot.Message {
	m := bot.Message{
		Platform: "mattermost",
		Conversation: bot.Conversation{
			ChannelID: r.ChannelID,
			Direct:    direct,
			Handle:    responseurl.Handle{URL: r.ResponseURL, Issued: now, User: r.UserID}.Encode(),
		},
		Sender:    bot.User{ID: r.UserID, Username: r.UserName},
		Text:      r.Text,
		Addressed: true,
		Received:  now,
	}
	if r.TriggerID != "" {
		// The server makes a trigger id per execution: a request sent
		// twice is one command.
		m.EventID = "slash:" + r.TriggerID
	}
	return m
}

// isDirectWith reports whether a channel name is that of the direct
// message channel between the bot and someone: Mattermost names it after
// its two members' ids, sorted and joined by "__" (model.GetDMNameFromIds).
// A DM between two other users is not the bot's.
func isDirectWith(channelName, botID string) bool {
	a, b, ok := strings.Cut(channelName, "__")
	if !ok || botID == "" || !model.IsValidId(a) || !model.IsValidId(b) {
		return false
	}
	return a == botID || b == botID
}
