package discord

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/bwmarrin/discordgo"

	"github.com/chatops-dev/chatops/adapters/internal/markdown"
	"github.com/chatops-dev/chatops/bot"
)

// Render formats a reply as Discord markdown within one message's 2000
// characters; long output keeps its tail.
func Render(r bot.Reply) string { return markdown.Render(r, MaxMessageRunes) }

// noPings keeps job output from notifying anyone it happens to mention.
var noPings = &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}

// Send implements bot.Adapter. Replies to /chatops first replace the
// deferred answer, then follow up; channel replies reference the command.
func (a *Adapter) Send(ctx context.Context, to bot.Conversation, r bot.Reply) (bot.Sent, error) {
	s := a.session()
	if s == nil {
		return bot.Sent{}, errors.New("discord: not connected yet")
	}
	unlock, err := a.chans.Lock(ctx, to.ChannelID)
	if err != nil {
		return bot.Sent{}, err
	}
	defer unlock()
	content := Render(r)
	opt := discordgo.WithContext(ctx)
	if to.Handle != "" {
		in := a.interaction(to.Handle)
		a.mu.Lock()
		first := !a.answers[to.Handle]
		a.answers[to.Handle] = true
		a.mu.Unlock()
		if first {
			if _, err := s.InteractionResponseEdit(in, &discordgo.WebhookEdit{Content: &content, AllowedMentions: noPings}, opt); err == nil {
				return bot.Sent{Conversation: to, ID: "@original"}, nil
			}
		} else if m, err := s.FollowupMessageCreate(in, true, &discordgo.WebhookParams{Content: content, AllowedMentions: noPings}, opt); err == nil {
			return bot.Sent{Conversation: to, ID: m.ID}, nil
		}
		// The interaction token lives 15 minutes: post in the channel.
		to.Handle = ""
	}
	send := &discordgo.MessageSend{Content: content, AllowedMentions: noPings}
	if to.ThreadID != "" {
		send.Reference = &discordgo.MessageReference{MessageID: to.ThreadID, ChannelID: to.ChannelID, FailIfNotExists: new(bool)}
	}
	m, err := s.ChannelMessageSendComplex(to.ChannelID, send, opt)
	if err != nil {
		return bot.Sent{}, classify("send message", err)
	}
	return bot.Sent{Conversation: to, ID: m.ID}, nil
}

// Edit implements bot.Editor.
func (a *Adapter) Edit(ctx context.Context, ref bot.Sent, r bot.Reply) (bot.Sent, error) {
	s := a.session()
	if s == nil {
		return bot.Sent{}, errors.New("discord: not connected yet")
	}
	unlock, err := a.chans.Lock(ctx, ref.Conversation.ChannelID)
	if err != nil {
		return bot.Sent{}, err
	}
	content := Render(r)
	opt := discordgo.WithContext(ctx)
	if ref.Conversation.Handle != "" {
		a.mu.Lock()
		appID := a.appID
		a.mu.Unlock()
		_, err = s.WebhookMessageEdit(appID, ref.Conversation.Handle, ref.ID, &discordgo.WebhookEdit{Content: &content, AllowedMentions: noPings}, opt)
	} else {
		_, err = s.ChannelMessageEditComplex(&discordgo.MessageEdit{ID: ref.ID, Channel: ref.Conversation.ChannelID, Content: &content, AllowedMentions: noPings}, opt)
	}
	unlock()
	if err != nil && ref.Conversation.Handle != "" {
		// An expired interaction token cannot edit; the update still goes out.
		to := ref.Conversation
		to.Handle = ""
		return a.Send(ctx, to, r)
	}
	if err != nil {
		return bot.Sent{}, classify("edit message", err)
	}
	return ref, nil
}

func (a *Adapter) interaction(token string) *discordgo.Interaction {
	a.mu.Lock()
	defer a.mu.Unlock()
	return &discordgo.Interaction{AppID: a.appID, Token: token}
}

// classify marks client errors permanent: Discord rejected the request
// itself (discordgo already waited out 429s).
func classify(what string, err error) error {
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil {
		if st := re.Response.StatusCode; st >= 400 && st < 500 && st != http.StatusTooManyRequests {
			return bot.Permanent(fmt.Errorf("discord: %s: %w", what, err))
		}
	}
	return fmt.Errorf("discord: %s: %w", what, err)
}
