package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatops-dev/chatops/bot/retry"
)

// responder answers one message through its adapter. It serialises the
// replies of one command (so they arrive in order) and retries failed sends
// for a bounded time, because a reply the user is owed must not be lost to a
// brief disconnect.
type responder struct {
	adapter  Adapter
	to       Conversation
	retryFor time.Duration
	log      *slog.Logger

	mu sync.Mutex // one send at a time keeps this command's replies in order
	// answered is set once a final reply (any status but working) was
	// delivered: a command cut at shutdown after that owes nothing more.
	answered atomic.Bool
}

// delivered notes reply as delivered when err is nil.
func (r *responder) delivered(reply Reply, err error) {
	if err == nil && reply.Status != StatusWorking {
		r.answered.Store(true)
	}
}

// Reply implements Responder.
func (r *responder) Reply(ctx context.Context, reply Reply) (Sent, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sent, err := r.retry(ctx, "send reply", func(ctx context.Context) (Sent, error) {
		return r.adapter.Send(ctx, r.to, reply)
	})
	r.delivered(reply, err)
	return sent, err
}

// Update implements Responder.
func (r *responder) Update(ctx context.Context, ref Sent, reply Reply) (Sent, error) {
	ed, ok := r.adapter.(Editor)
	if !ok || ref.ID == "" {
		return r.Reply(ctx, reply)
	}
	r.mu.Lock()
	sent, err := r.retry(ctx, "edit reply", func(ctx context.Context) (Sent, error) {
		return ed.Edit(ctx, ref, reply)
	})
	r.mu.Unlock()
	r.delivered(reply, err)
	if err != nil && ctx.Err() == nil {
		// The message cannot be edited (deleted, too old): the update is
		// still owed, so it goes out as a new message.
		r.log.Warn("edit failed, posting the update as a new reply", "err", err)
		return r.Reply(ctx, reply)
	}
	return sent, err
}

func (r *responder) retry(ctx context.Context, what string, op func(context.Context) (Sent, error)) (Sent, error) {
	deadline := time.Now().Add(r.retryFor)
	backoff := retry.Backoff{Min: 250 * time.Millisecond, Max: 10 * time.Second}
	for attempt := 1; ; attempt++ {
		sent, err := op(ctx)
		if err == nil {
			return sent, nil
		}
		wait := backoff.Wait(attempt - 1)
		if IsPermanent(err) || ctx.Err() != nil || time.Now().Add(wait).After(deadline) {
			return Sent{}, fmt.Errorf("%s on %s after %d attempt(s): %w", what, r.adapter.Name(), attempt, err)
		}
		r.log.Warn("reply failed, retrying", "what", what, "attempt", attempt, "err", err)
		if !retry.Sleep(ctx, wait) {
			return Sent{}, fmt.Errorf("%s on %s: %w", what, r.adapter.Name(), ctx.Err())
		}
	}
}

// Whisper answers only m's sender: an ephemeral reply where the adapter
// has them (Whisperer), else in their direct conversation with the bot
// where it can open one (DirectOpener: Mattermost posts other than slash
// commands, whose ephemeral posts need a system admin's permission), and
// in the conversation itself as a last resort (or when m came in a
// direct one anyway).
func (r *responder) Whisper(ctx context.Context, m Message, reply Reply) error {
	if wh, ok := r.adapter.(Whisperer); ok {
		_, err := r.retry(ctx, "whisper", func(ctx context.Context) (Sent, error) {
			err := wh.Whisper(ctx, m, reply)
			if errors.Is(err, ErrNoWhisper) {
				err = Permanent(err) // retrying cannot make it possible
			}
			return Sent{}, err
		})
		if !errors.Is(err, ErrNoWhisper) {
			r.delivered(reply, err)
			return err
		}
		r.log.Debug("no ephemeral reply here; answering in a direct message", "err", err)
	}
	if _, opens := r.adapter.(DirectOpener); opens && !m.Conversation.Direct {
		d, err := r.Direct(ctx, m)
		if err == nil {
			if _, err = d.Reply(ctx, reply); err == nil {
				r.delivered(reply, nil)
				return nil
			}
		}
		r.log.Warn("could not answer privately in a direct message; answering in the conversation", "err", err)
	}
	_, err := r.Reply(ctx, reply)
	return err
}

// ReplyPrivately answers only m's sender where w and its adapter can
// (an ephemeral reply, or their direct conversation with the bot), and in
// the conversation otherwise (the terminal).
func ReplyPrivately(ctx context.Context, w Responder, m Message, r Reply) error {
	if wh, ok := w.(interface {
		Whisper(context.Context, Message, Reply) error
	}); ok {
		return wh.Whisper(ctx, m, r)
	}
	_, err := w.Reply(ctx, r)
	return err
}

// ErrNoDirect is Direct's error when the platform (the terminal, or an
// adapter without DirectOpener) cannot open a direct conversation.
var ErrNoDirect = errors.New("the chat adapter cannot open a direct conversation")

// Direct opens (or finds) the direct conversation with m's sender and
// returns a Responder whose replies go there, retrying a failed open as
// a failed reply is retried.
func (r *responder) Direct(ctx context.Context, m Message) (Responder, error) {
	op, ok := r.adapter.(DirectOpener)
	if !ok {
		return nil, fmt.Errorf("%s: %w", r.adapter.Name(), ErrNoDirect)
	}
	var to Conversation
	_, err := r.retry(ctx, "open a direct conversation", func(ctx context.Context) (Sent, error) {
		var err error
		to, err = op.OpenDirect(ctx, m)
		return Sent{}, err
	})
	if err != nil {
		return nil, err
	}
	return &responder{adapter: r.adapter, to: to, retryFor: r.retryFor, log: r.log}, nil
}

// Direct returns a Responder that answers m's sender alone, in their
// direct conversation with the bot: w itself when m came in one, else
// one the adapter opens (DirectOpener). Replies through it report that
// conversation in Sent, for answers given later (Messenger). It fails
// with ErrNoDirect where the platform cannot open one, and with the
// platform's error when opening failed; callers then ask the user to
// write to the bot directly.
func Direct(ctx context.Context, w Responder, m Message) (Responder, error) {
	if m.Conversation.Direct {
		return w, nil
	}
	d, ok := w.(interface {
		Direct(context.Context, Message) (Responder, error)
	})
	if !ok {
		return nil, ErrNoDirect
	}
	return d.Direct(ctx, m)
}
