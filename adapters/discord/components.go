package discord

import (
	"context"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/chatops-dev/chatops/bot"
)

// rendered is a reply as Discord takes it: the content and the message
// components (buttons). comps is never nil, so an edit of a reply without
// actions sends "components": [] and removes the buttons it had.
type rendered struct {
	text  string
	comps []discordgo.MessageComponent
}

// components renders a reply's actions as one action row of buttons
// (Discord: at most 5 per row, label at most 80 characters, custom_id at
// most 100). A click comes back as a MESSAGE_COMPONENT interaction whose
// custom_id is the Action's ID (see fromComponent).
func components(actions []bot.Action) []discordgo.MessageComponent {
	if len(actions) == 0 {
		return []discordgo.MessageComponent{}
	}
	var row discordgo.ActionsRow
	for _, a := range actions[:min(len(actions), 5)] {
		style := discordgo.SecondaryButton
		switch a.Style {
		case bot.ActionPrimary:
			style = discordgo.PrimaryButton
		case bot.ActionDanger:
			style = discordgo.DangerButton
		}
		label := a.Label
		for utf8.RuneCountInString(label) > 80 {
			_, size := utf8.DecodeLastRuneInString(label)
			label = label[:len(label)-size]
		}
		row.Components = append(row.Components, discordgo.Button{Label: label, Style: style, CustomID: a.ID})
	}
	return []discordgo.MessageComponent{row}
}

// acknowledgeComponent answers a button click within Discord's 3 seconds
// with a deferred update (type 6: nothing shows until the bot edits the
// clicked message or follows up) and delivers the click. The run's reply
// then replaces the question in place, buttons removed. A 429 is waited
// out within the 3 seconds, as for /chatops.
func (a *Adapter) acknowledgeComponent(i *discordgo.Interaction, deliver func(bot.Message)) {
	defer a.recoverInteraction("button click")
	ctx, cancel := context.WithTimeout(context.Background(), ackTimeout)
	defer cancel()
	s := a.session()
	err := a.rest(ctx, func(opt discordgo.RequestOption) error {
		return s.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate}, opt)
	})
	if err != nil {
		a.log.Warn("could not acknowledge a button click", "err", err)
		return
	}
	if m, ok := fromComponent(i, a.now()); ok {
		deliver(m)
	}
}

// fromComponent turns a button click into a message whose Action is the
// button's custom_id, from the user who clicked.
func fromComponent(i *discordgo.Interaction, now time.Time) (bot.Message, bool) {
	data, ok := i.Data.(discordgo.MessageComponentInteractionData)
	if !ok || data.ComponentType != discordgo.ButtonComponent || data.CustomID == "" {
		return bot.Message{}, false
	}
	u := i.User
	if i.Member != nil && i.Member.User != nil {
		u = i.Member.User
	}
	if u == nil {
		return bot.Message{}, false
	}
	return bot.Message{
		Platform: "discord", EventID: "interaction:" + i.ID,
		Conversation: bot.Conversation{ChannelID: i.ChannelID, Direct: i.GuildID == "",
			Handle: interactionHandle{Token: i.Token, Issued: now, CanPost: mayPost(i), Click: true}.encode()},
		Sender: bot.User{ID: u.ID, Username: u.Username, DisplayName: u.GlobalName, IsBot: u.Bot},
		Action: data.CustomID, Addressed: true, Received: now,
	}, true
}

// Whisper implements bot.Whisperer: an ephemeral follow-up (flags 64) to
// a button click while its token lives. Anything else is answered as a
// reply: a typed message has no token, and a /chatops command's deferred
// "thinking" answer (public) must be replaced, not left spinning.
func (a *Adapter) Whisper(ctx context.Context, m bot.Message, r bot.Reply) error {
	h := decodeHandle(m.Conversation.Handle)
	s := a.session()
	if s == nil || m.Conversation.Handle == "" || !h.Click || !h.alive(a.now()) {
		_, err := a.Send(ctx, m.Conversation, r)
		return err
	}
	err := a.rest(ctx, func(opt discordgo.RequestOption) error {
		_, err := s.FollowupMessageCreate(a.interaction(h.Token), true, &discordgo.WebhookParams{
			Content: Render(r), AllowedMentions: noPings, Flags: discordgo.MessageFlagsEphemeral}, opt)
		return err
	})
	if err != nil {
		return classify("follow up ephemerally", err)
	}
	return nil
}
