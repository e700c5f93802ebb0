package mattermost

import (
	"encoding/json"
	"runtime/debug"
	"strings"
	"time"
	"unicode"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/chatops-dev/chatops/bot"
)

// fromEvent translates a websocket "posted" event. Its data.post is a JSON
// string (a second decode), and data.channel_type says O/P/D/G.
func (a *Adapter) fromEvent(ev *model.WebSocketEvent, me *model.User) (m bot.Message, ok bool) {
	defer func() {
		if p := recover(); p != nil {
			a.log.Error("an event handler panicked; the event is dropped, the connection kept", "panic", p, "stack", string(debug.Stack()))
			m, ok = bot.Message{}, false
		}
	}()
	data := ev.GetData()
	raw, _ := data["post"].(string)
	var p model.Post
	if err := json.Unmarshal([]byte(raw), &p); err != nil || p.Id == "" {
		a.log.Warn("ignoring a posted event with an unreadable post", "err", err)
		return bot.Message{}, false
	}
	channelType, _ := data["channel_type"].(string)
	if team, _ := data["team_id"].(string); !a.teams.Allows(team) {
		return bot.Message{}, false
	}
	return a.fromPost(&p, channelType, me)
}

// fromPost translates a post into a bot.Message; ok is false for posts the
// bot never handles (system messages, edits, its own posts).
func (a *Adapter) fromPost(p *model.Post, channelType string, me *model.User) (bot.Message, bool) {
	if p.CreateAt > a.lastSeen.Load() {
		a.lastSeen.Store(p.CreateAt)
	}
	m, ok := ParsePost(p, channelType, me.Id, me.Username)
	return m, ok
}

// ParsePost turns a Mattermost post into a bot.Message for the bot whose
// user id and username are given. Posts of a system type are skipped (ok
// false); everything else is returned with Addressed set when the post is
// a DM or starts with @botname.
func ParsePost(p *model.Post, channelType, botID, botName string) (bot.Message, bool) {
	if p == nil || p.Id == "" || p.Type != "" && p.Type != model.PostTypeDefault {
		return bot.Message{}, false
	}
	direct := channelType == string(model.ChannelTypeDirect)
	text, mentioned := stripMention(p.Message, botName)
	// Channel commands are answered in a thread under them; a DM is
	// answered in the conversation unless the user wrote in a thread.
	thread := p.RootId
	if thread == "" && !direct {
		thread = p.Id
	}
	m := bot.Message{
		Platform: "mattermost",
		EventID:  p.Id,
		ID:       p.Id,
		Conversation: bot.Conversation{
			ChannelID: p.ChannelId,
			ThreadID:  thread,
			Direct:    direct,
		},
		Sender: bot.User{
			ID:     p.UserId,
			IsBot:  p.GetProp(model.PostPropsFromBot) == "true" || p.GetProp("from_webhook") == "true",
			IsSelf: p.UserId == botID,
		},
		Text:      text,
		Addressed: mentioned || direct,
		Received:  time.Now(),
	}
	if direct && !mentioned {
		m.Text = p.Message
	}
	if name, ok := p.GetProp("override_username").(string); ok {
		m.Sender.DisplayName = name
	}
	return m, true
}

// stripMention removes a leading "@botname" (case-insensitive, followed by
// whitespace, ':' or ',' or the end) and reports whether it was there.
func stripMention(text, botName string) (string, bool) {
	t := strings.TrimLeftFunc(text, unicode.IsSpace)
	if botName == "" || len(t) < len(botName)+1 || t[0] != '@' || !strings.EqualFold(t[1:1+len(botName)], botName) {
		return text, false
	}
	rest := t[1+len(botName):]
	if rest != "" {
		r := []rune(rest)[0]
		if !unicode.IsSpace(r) && r != ':' && r != ',' {
			return text, false // @chatopsbot is someone else
		}
	}
	rest = strings.TrimPrefix(strings.TrimPrefix(rest, ":"), ",")
	return strings.TrimLeftFunc(rest, unicode.IsSpace), true
}
