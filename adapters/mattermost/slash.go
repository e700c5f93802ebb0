package mattermost

import (
	"cmp"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/chatops-dev/chatops/bot"
)

// SlashPath is where the bot's listener receives Mattermost's custom slash
// commands (the command's Request URL is https://<bot>/mattermost/command).
const SlashPath = "/mattermost/command"

// maxSlashBody bounds a slash command request: a post's text (16383
// runes) with the server's other fields and mention lists fits easily.
const maxSlashBody = 1 << 20

// Endpoints implements bot.Endpoints: the slash command route when
// [mattermost] slash_tokens is set, none otherwise.
func (a *Adapter) Endpoints() []bot.Endpoint {
	if len(a.cfg.SlashTokens) == 0 {
		return nil
	}
	return []bot.Endpoint{{Pattern: "POST " + SlashPath, Handler: http.HandlerFunc(a.serveSlash)}}
}

// serveSlash answers a slash command request at once (the server waits
// for it, 30 s by default, and the user sees nothing until then) and
// hands the command to the bot; the answer is posted afterwards.
func (a *Adapter) serveSlash(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxSlashBody)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "chatops: the slash command request is not a readable form", http.StatusBadRequest)
		return
	}
	bound, ok := a.slashToken(r)
	if !ok {
		a.log.Warn("refused a slash command request with an unknown token (not in [mattermost] slash_tokens)", "remote", r.RemoteAddr)
		http.Error(w, "chatops: unknown slash command token", http.StatusUnauthorized)
		return
	}
	req, err := ParseSlashForm(r.PostForm)
	if err != nil {
		a.log.Warn("refused a malformed slash command request", "err", err)
		http.Error(w, "chatops: "+err.Error(), http.StatusBadRequest)
		return
	}
	if bound != "" && req.TeamID != bound {
		a.log.Warn("refused a slash command request naming another team than its token's (slash_tokens binds it to its team)",
			"team", req.TeamID, "token_team", bound, "remote", r.RemoteAddr)
		http.Error(w, "chatops: this slash command token belongs to another team", http.StatusUnauthorized)
		return
	}
	if req.ResponseURL != "" && !a.hookHostAllowed(req.ResponseURL) {
		// The token holder named a URL on another host: the bot posts
		// nothing there. The answer goes to the channel or a DM instead.
		a.log.Warn("ignored a slash command's response_url on a host other than [mattermost] url's or site_url's (set site_url to the server's Site URL if that is where it is)",
			"response_url_host", hostOf(req.ResponseURL))
		req.ResponseURL = ""
	}
	botID := ""
	if me := a.me.Load(); me != nil {
		botID = me.Id
	}
	// The request's channel, team and channel_name are as the token's
	// holder wrote them: the channel as the server shows it to the bot
	// says which team it is in and whether it is the bot's DM.
	ch, err := a.lookupChannel(r.Context(), req.ChannelID)
	if err != nil {
		a.log.Warn("could not look up a slash command's channel", "channel", req.ChannelID, "err", err)
		http.Error(w, "chatops could not check this channel with the Mattermost server: try again in a moment", http.StatusServiceUnavailable)
		return
	}
	switch {
	case ch.visible && ch.team != "" && ch.team != req.TeamID:
		a.log.Warn("refused a slash command request naming a channel of another team than its own (and its token's)",
			"team", req.TeamID, "channel", req.ChannelID, "channel_team", ch.team, "remote", r.RemoteAddr)
		http.Error(w, "chatops: this channel is not in the slash command's team", http.StatusForbidden)
		return
	case !ch.visible && (bound != "" || len(a.cfg.TeamIDs) > 0):
		// The bot may not read the channel (private, and it is not a
		// member), so it cannot tell its team, which the token's binding
		// or team_ids ask for.
		respondCommand(w, "chatops cannot see this channel, so it cannot check which team it is in: add @"+a.selfName()+" to the channel, or run the command in one it is in.")
		return
	}
	m := req.Message(ch.directWith(botID), time.Now())
	// The DM with the bot is in no team and served as a typed DM is;
	// anywhere else the channel's team must be allowed (a group message's,
	// in no team either, is the request's).
	if team := cmp.Or(ch.team, req.TeamID); !m.Conversation.Direct && !a.teams.Allows(team) {
		// The token is right: tell the user, who can do nothing else.
		respondCommand(w, "chatops does not answer in this team.")
		return
	}
	deliver := a.deliver.Load()
	if deliver == nil {
		http.Error(w, "chatops is not serving Mattermost right now (starting or stopping): try again in a moment", http.StatusServiceUnavailable)
		return
	}
	(*deliver)(m)
	// An ephemeral response without text posts nothing
	// (app.CreateCommandPost): the bot's own reply is the answer.
	respondCommand(w, "")
}

// respondCommand answers a slash command request with an ephemeral text
// for its user; an empty text shows nothing.
func respondCommand(w http.ResponseWriter, text string) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(model.CommandResponse{ResponseType: model.CommandResponseTypeEphemeral, Text: text, SkipSlackParsing: true})
}

// SplitSlashToken reads an entry of slash_tokens: "TOKEN" is accepted
// from any team, "TEAM_ID:TOKEN" only with that team's id. Mattermost
// makes a custom command per team and its requests always carry that
// team, so binding a token to its team keeps one team's token holder
// from sending requests in another team's name.
func SplitSlashToken(entry string) (team, token string) {
	if t, tok, ok := strings.Cut(entry, ":"); ok {
		return strings.TrimSpace(t), strings.TrimSpace(tok)
	}
	return "", strings.TrimSpace(entry)
}

// slashToken checks the request's token (the form's "token", or the
// "Authorization: Token ..." header the server sends with it) against
// every configured token in constant time, and returns the team the
// matching token is bound to ("" for any).
func (a *Adapter) slashToken(r *http.Request) (team string, ok bool) {
	given := []string{r.PostForm.Get("token")}
	if scheme, tok, found := strings.Cut(r.Header.Get("Authorization"), " "); found && strings.EqualFold(scheme, "token") {
		given = append(given, strings.TrimSpace(tok))
	}
	for _, g := range given {
		for _, entry := range a.cfg.SlashTokens {
			bound, want := SplitSlashToken(entry)
			// Every entry compared in full whatever matched before: the
			// time taken says nothing about which token is close.
			if subtle.ConstantTimeCompare([]byte(g), []byte(want)) == 1 {
				team, ok = bound, true
			}
		}
	}
	return team, ok
}

// hookHostAllowed reports whether a response URL is on the server's host
// ([mattermost] url's or site_url's): the request's token proves it came
// from someone who holds the command's token, not that its response_url
// is the server's, and the bot posts its replies there.
func (a *Adapter) hookHostAllowed(raw string) bool {
	return a.hookHosts[strings.ToLower(hostOf(raw))]
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}
