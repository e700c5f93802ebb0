package mattermost

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/chatops-dev/chatops/adapters/internal/responseurl"
	"github.com/chatops-dev/chatops/bot"
)

// maxRateLimitWaits bounds how often one reply waits out a 429.
const maxRateLimitWaits = 5

// Send implements bot.Adapter: it posts the reply in the conversation's
// thread (root_id). A slash command's answer where the bot may not post
// (403: not a member of the channel) goes through the command's response
// URL instead, or to the user as a DM.
func (a *Adapter) Send(ctx context.Context, to bot.Conversation, r bot.Reply) (bot.Sent, error) {
	sent, err := a.post(ctx, to, r)
	if h, slash := responseurl.Decode(to.Handle); slash && isForbidden(err) {
		return a.viaHook(ctx, to, h, r, err)
	}
	return sent, err
}

// post creates the reply's post in to.
func (a *Adapter) post(ctx context.Context, to bot.Conversation, r bot.Reply) (bot.Sent, error) {
	unlock, err := a.chans.Lock(ctx, to.ChannelID)
	if err != nil {
		return bot.Sent{}, err
	}
	defer unlock()
	post := &model.Post{ChannelId: to.ChannelID, RootId: to.ThreadID, Message: Render(r, a.selfName())}
	created, err := call(ctx, a, "create post", func() (*model.Post, *model.Response, error) {
		return a.client.CreatePost(ctx, post)
	})
	if err != nil {
		return bot.Sent{}, err
	}
	return bot.Sent{Conversation: to, ID: created.Id}, nil
}

// Edit implements bot.Editor by patching the post's message. An answer
// posted through a slash command's response URL cannot be edited: its
// progress states are skipped (each would use one of the URL's five
// posts) and its final state is sent as a new answer.
func (a *Adapter) Edit(ctx context.Context, ref bot.Sent, r bot.Reply) (bot.Sent, error) {
	if ref.ID == hookSentID {
		if r.Status == bot.StatusWorking {
			return ref, nil
		}
		return a.Send(ctx, ref.Conversation, r)
	}
	unlock, err := a.chans.Lock(ctx, ref.Conversation.ChannelID)
	if err != nil {
		return bot.Sent{}, err
	}
	defer unlock()
	msg := Render(r, a.selfName())
	_, err = call(ctx, a, "patch post", func() (*model.Post, *model.Response, error) {
		return a.client.PatchPost(ctx, ref.ID, &model.PostPatch{Message: &msg})
	})
	if err != nil {
		return bot.Sent{}, err
	}
	return ref, nil
}

// selfName is the bot's username once connected, so that replies keep
// mentions of the bot itself (see Render).
func (a *Adapter) selfName() string {
	if me := a.me.Load(); me != nil {
		return me.Username
	}
	return ""
}

// OpenDirect implements bot.DirectOpener with POST /channels/direct and
// the bot's and m's sender's ids: the server creates the DM channel, or
// returns it when it exists. Bots may do this with the default role.
func (a *Adapter) OpenDirect(ctx context.Context, m bot.Message) (bot.Conversation, error) {
	me := a.me.Load()
	if me == nil {
		return bot.Conversation{}, errors.New("mattermost: open a direct channel: not connected yet")
	}
	if m.Sender.ID == "" {
		return bot.Conversation{}, bot.Permanent(errors.New("mattermost: open a direct channel: the message has no sender"))
	}
	ch, err := call(ctx, a, "open a direct channel", func() (*model.Channel, *model.Response, error) {
		return a.client.CreateDirectChannel(ctx, me.Id, m.Sender.ID)
	})
	if err != nil {
		return bot.Conversation{}, fmt.Errorf("mattermost: %w", err)
	}
	return bot.Conversation{ChannelID: ch.Id, Direct: true}, nil
}

// call runs one REST call, waiting out rate limits. Client errors other
// than 429 are permanent (retrying sends the same invalid request); server
// errors and network failures are left to the bot's retry.
func call[T any](ctx context.Context, a *Adapter, what string, f func() (T, *model.Response, error)) (T, error) {
	var zero T
	for attempt := 0; ; attempt++ {
		p, resp, err := f()
		if err == nil {
			return p, nil
		}
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		switch {
		case status == http.StatusTooManyRequests && attempt < maxRateLimitWaits:
			wait := retryAfter(resp)
			a.log.Warn("mattermost rate limit, waiting", "what", what, "wait", wait)
			select {
			case <-ctx.Done():
				return zero, fmt.Errorf("%s: %w", what, ctx.Err())
			case <-time.After(wait):
			}
			continue
		case status >= 400 && status < 500 && status != http.StatusTooManyRequests:
			return zero, bot.Permanent(fmt.Errorf("%s: mattermost answered %d: %w", what, status, err))
		}
		return zero, fmt.Errorf("%s: %w", what, err)
	}
}

// retryAfter reads how long to wait from a 429: Retry-After, else
// X-Ratelimit-Reset (seconds until the window resets), else one second.
func retryAfter(resp *model.Response) time.Duration {
	for _, h := range []string{"Retry-After", "X-Ratelimit-Reset"} {
		if v, err := strconv.ParseFloat(resp.Header.Get(h), 64); err == nil && v >= 0 {
			return min(time.Duration(v*float64(time.Second)), time.Minute)
		}
	}
	return time.Second
}
