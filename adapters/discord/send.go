package discord

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/chatops-dev/chatops/adapters/internal/markdown"
	"github.com/chatops-dev/chatops/bot"
)

// maxHeading is the deepest heading Discord renders (#, ##, ###); deeper
// ones show their hashes literally.
const maxHeading = 3

// Render formats a reply as Discord markdown within one message's 2000
// characters; long output keeps its tail. In a reply's Markdown, headings
// deeper than ### become bold lines, tables become code blocks of aligned
// columns and rules a line, as Discord renders none of them; mentions are
// left to allowed_mentions (noPings), which Discord applies to every
// message the bot sends.
func Render(r bot.Reply) string {
	return markdown.RenderWith(r, markdown.Options{Limit: MaxMessageRunes, Heading: maxHeading, MaxHeading: maxHeading})
}

// noPings keeps job output from notifying anyone it happens to mention.
var noPings = &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}

// Send implements bot.Adapter. Replies to /chatops first replace the
// deferred answer, then follow up, while the interaction token lives;
// after that they go to the channel where the bot may post there. Channel
// replies reference the command.
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
	content := rendered{text: Render(r), comps: components(r.Actions)}
	if to.Handle != "" {
		h := decodeHandle(to.Handle)
		if h.alive(a.now()) {
			sent, err := a.sendInteraction(ctx, s, to, h, content)
			if !tokenGone(err) {
				return sent, err
			}
		}
		return a.afterToken(ctx, s, to, h, content)
	}
	return a.sendChannel(ctx, s, to, content)
}

// answered records that a token's deferred answer was given (a.mu held).
// Tokens die after tokenLifetime, so older entries are dropped: the map
// stays as small as the interactions of the last quarter hour.
func (a *Adapter) answered(token string, issued time.Time) {
	if len(a.answers) >= 256 {
		for t, at := range a.answers {
			if a.now().Sub(at) > tokenLifetime {
				delete(a.answers, t)
			}
		}
	}
	if issued.IsZero() {
		issued = a.now()
	}
	a.answers[token] = issued
}

// sendInteraction edits the deferred answer the first time, and follows
// up after. The answer counts as given only once its edit succeeded, so a
// failed edit is retried as an edit, not replaced by a follow-up under a
// reply stuck at "thinking".
func (a *Adapter) sendInteraction(ctx context.Context, s *discordgo.Session, to bot.Conversation, h interactionHandle, content rendered) (bot.Sent, error) {
	in := a.interaction(h.Token)
	a.mu.Lock()
	_, answered := a.answers[h.Token]
	first := !answered
	a.mu.Unlock()
	if first {
		err := a.rest(ctx, func(opt discordgo.RequestOption) error {
			_, err := s.InteractionResponseEdit(in, &discordgo.WebhookEdit{Content: &content.text, Components: &content.comps, AllowedMentions: noPings}, opt)
			return err
		})
		if err != nil {
			return bot.Sent{}, classify("edit the deferred reply", err)
		}
		a.mu.Lock()
		a.answered(h.Token, h.Issued)
		a.mu.Unlock()
		return bot.Sent{Conversation: to, ID: "@original"}, nil
	}
	var m *discordgo.Message
	err := a.rest(ctx, func(opt discordgo.RequestOption) error {
		var err error
		m, err = s.FollowupMessageCreate(in, true, &discordgo.WebhookParams{Content: content.text, Components: content.comps, AllowedMentions: noPings}, opt)
		return err
	})
	if err != nil {
		return bot.Sent{}, classify("follow up", err)
	}
	return bot.Sent{Conversation: to, ID: m.ID}, nil
}

// afterToken delivers a reply whose interaction token has expired: in the
// channel where the bot may post, else it is logged once and dropped.
func (a *Adapter) afterToken(ctx context.Context, s *discordgo.Session, to bot.Conversation, h interactionHandle, content rendered) (bot.Sent, error) {
	to.Handle = ""
	to.ThreadID = ""
	if h.CanPost {
		return a.sendChannel(ctx, s, to, content)
	}
	a.mu.Lock()
	logged := a.undeliverable[h.Token]
	a.undeliverable[h.Token] = true
	a.mu.Unlock()
	if !logged {
		a.log.Warn("a /chatops reply cannot be delivered: its interaction token expired (15 minutes) and the bot may not post in the channel", "channel", to.ChannelID)
	}
	return bot.Sent{}, bot.Permanent(fmt.Errorf("discord: interaction token expired and the bot may not post in channel %s", to.ChannelID))
}

func (a *Adapter) sendChannel(ctx context.Context, s *discordgo.Session, to bot.Conversation, content rendered) (bot.Sent, error) {
	send := &discordgo.MessageSend{Content: content.text, Components: content.comps, AllowedMentions: noPings}
	if to.ThreadID != "" {
		send.Reference = &discordgo.MessageReference{MessageID: to.ThreadID, ChannelID: to.ChannelID, FailIfNotExists: new(bool)}
	}
	var m *discordgo.Message
	err := a.rest(ctx, func(opt discordgo.RequestOption) error {
		var err error
		m, err = s.ChannelMessageSendComplex(to.ChannelID, send, opt)
		return err
	})
	if err != nil {
		return bot.Sent{}, classify("send message", err)
	}
	return bot.Sent{Conversation: to, ID: m.ID}, nil
}

// Edit implements bot.Editor. It needs nothing but ref: an interaction
// reply is edited through its token while the token lives (the Handle
// says when it was issued); after, the update is posted in the channel.
func (a *Adapter) Edit(ctx context.Context, ref bot.Sent, r bot.Reply) (bot.Sent, error) {
	s := a.session()
	if s == nil {
		return bot.Sent{}, errors.New("discord: not connected yet")
	}
	unlock, err := a.chans.Lock(ctx, ref.Conversation.ChannelID)
	if err != nil {
		return bot.Sent{}, err
	}
	defer unlock()
	content := rendered{text: Render(r), comps: components(r.Actions)}
	if ref.Conversation.Handle != "" {
		h := decodeHandle(ref.Conversation.Handle)
		if h.alive(a.now()) {
			a.mu.Lock()
			appID := a.appID
			a.mu.Unlock()
			err = a.rest(ctx, func(opt discordgo.RequestOption) error {
				_, err := s.WebhookMessageEdit(appID, h.Token, ref.ID, &discordgo.WebhookEdit{Content: &content.text, Components: &content.comps, AllowedMentions: noPings}, opt)
				return err
			})
			if !tokenGone(err) {
				if err != nil {
					return bot.Sent{}, classify("edit the interaction reply", err)
				}
				return ref, nil
			}
		}
		return a.afterToken(ctx, s, ref.Conversation, h, content)
	}
	err = a.rest(ctx, func(opt discordgo.RequestOption) error {
		_, err := s.ChannelMessageEditComplex(&discordgo.MessageEdit{ID: ref.ID, Channel: ref.Conversation.ChannelID, Content: &content.text, Components: &content.comps, AllowedMentions: noPings}, opt)
		return err
	})
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

// rest runs one REST call, waiting out 429s itself: discordgo's own retry
// sleeps without looking at the context and for as long as asked. The
// wait ends with ctx (shutdown) and is bounded by MaxRateLimitWait in all.
// Interaction tokens in the call's URL are masked in what it logs and in
// the error it returns (see redactErr).
func (a *Adapter) rest(ctx context.Context, op func(discordgo.RequestOption) error) error {
	opt := discordgo.WithContext(ctx)
	var waited time.Duration
	for {
		err := redactErr(op(opt))
		var rl *discordgo.RateLimitError
		if !errors.As(err, &rl) || rl.TooManyRequests == nil {
			return err
		}
		wait := max(rl.RetryAfter, 10*time.Millisecond)
		if waited+wait > a.cfg.MaxRateLimitWait {
			return fmt.Errorf("rate limited for %s more (over the %s bound): %w", wait, a.cfg.MaxRateLimitWait, err)
		}
		a.log.Info("rate limited by Discord, waiting", "url", redactTokens(rl.URL), "retry_after", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("rate limited and %w", ctx.Err())
		case <-t.C:
		}
		waited += wait
	}
}

// tokenInPath matches the interaction token in the URLs of webhook calls
// (/webhooks/<application>/<token>/...) and interaction callbacks
// (/interactions/<interaction>/<token>/callback). The token lets anyone
// post and edit as the bot in that channel for 15 minutes, and the
// log redactor knows only the config's secrets.
var tokenInPath = regexp.MustCompile(`(/(?:webhooks|interactions)/[^/\s"?#]+/)[^/\s"?#]+`)

// redactTokens masks the interaction tokens in s (a URL, or an error's
// text quoting one).
func redactTokens(s string) string {
	return tokenInPath.ReplaceAllString(s, "${1}<token>")
}

// redactedError is an error whose text had an interaction token masked; it
// still unwraps to the original, so errors.As finds discordgo's errors.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactErr masks interaction tokens in err's text: discordgo's errors
// quote the request URL (a failed request's *url.Error, a RateLimitError),
// and errors end up in the bot's logs.
func redactErr(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if masked := redactTokens(msg); masked != msg {
		return &redactedError{msg: masked, err: err}
	}
	return err
}

// tokenGone reports Discord's answers for an expired or unknown
// interaction token.
func tokenGone(err error) bool {
	var re *discordgo.RESTError
	if !errors.As(err, &re) || re.Response == nil {
		return false
	}
	if re.Message != nil && (re.Message.Code == discordgo.ErrCodeInvalidWebhookTokenProvided || re.Message.Code == discordgo.ErrCodeUnknownWebhook) {
		return true
	}
	return re.Response.StatusCode == http.StatusUnauthorized
}

// classify marks client errors permanent: Discord rejected the request
// itself (429s were waited out before).
func classify(what string, err error) error {
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil {
		if st := re.Response.StatusCode; st >= 400 && st < 500 && st != http.StatusTooManyRequests {
			return bot.Permanent(fmt.Errorf("discord: %s: %w", what, err))
		}
	}
	return fmt.Errorf("discord: %s: %w", what, err)
}
