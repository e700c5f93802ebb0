package bot

import (
	"context"
	"fmt"
	"time"
)

// Claimer records that a chat event is being handled, durably and shared
// between processes, so an event redelivered after a restart (a Slack
// envelope whose ack was lost) or seen by a second process on the same
// database is handled once. store.Store is one.
type Claimer interface {
	// ClaimEvent reports whether this is the first claim of key within ttl.
	ClaimEvent(ctx context.Context, key string, ttl time.Duration) (bool, error)
}

// Messenger posts and edits replies in any adapter's conversations outside
// the handling of a message: how a service answers later, such as the
// watcher editing a run's progress reply when the job finishes, possibly
// after a restart. The Bot is one.
type Messenger interface {
	// Send posts r in the conversation of the named platform's adapter.
	Send(ctx context.Context, platform string, to Conversation, r Reply) (Sent, error)
	// Edit replaces the reply ref in place where the adapter can edit
	// messages (and ref has an id), and posts r anew where it cannot.
	Edit(ctx context.Context, platform string, ref Sent, r Reply) (Sent, error)
}

// Service is background work the Bot runs beside its adapters for as long
// as they run, such as the watcher that follows GitLab runs. It answers
// through the Messenger it is given.
type Service interface {
	Serve(ctx context.Context, out Messenger) error
}

// Drainer is a Service that owes answers to users of an adapter that
// stopped by itself (the terminal at end of input): the Bot calls Drain,
// bounded by DrainTimeout, before it stops its services.
type Drainer interface {
	Drain(ctx context.Context)
}

func (b *Bot) adapter(platform string) (Adapter, error) {
	for _, a := range b.adapters {
		if a.Name() == platform {
			return a, nil
		}
	}
	return nil, Permanent(fmt.Errorf("no %s adapter is configured", platform))
}

// Send implements Messenger.
func (b *Bot) Send(ctx context.Context, platform string, to Conversation, r Reply) (Sent, error) {
	a, err := b.adapter(platform)
	if err != nil {
		return Sent{}, err
	}
	return a.Send(ctx, to, r)
}

// Edit implements Messenger.
func (b *Bot) Edit(ctx context.Context, platform string, ref Sent, r Reply) (Sent, error) {
	a, err := b.adapter(platform)
	if err != nil {
		return Sent{}, err
	}
	if ed, ok := a.(Editor); ok && ref.ID != "" {
		return ed.Edit(ctx, ref, r)
	}
	return a.Send(ctx, ref.Conversation, r)
}
