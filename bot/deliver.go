package bot

import (
	"context"
	"log/slog"
	"strconv"
	"time"
)

// Intake: what happens to a message between the adapter and the worker
// pool (filtering, claims, per-user limits, the queue, refusal notices).

// deliver is what adapters call for every received message.
func (b *Bot) deliver(ctx context.Context, a Adapter, m Message) {
	// Each attribute once: the command's own line adds what it knows.
	attrs := []any{"adapter", a.Name(), "user", m.Sender.ID, "channel", m.Conversation.ChannelID}
	if m.EventID != "" {
		attrs = append(attrs, "event", m.EventID)
	}
	log := b.opts.Logger.With(attrs...)
	switch {
	case m.Sender.IsSelf:
		return
	case m.Sender.IsBot:
		log.Debug("ignoring message from a bot")
		return
	case !m.Addressed:
		return
	}
	if m.EventID != "" && !b.firstClaim(ctx, a.Name()+":"+m.EventID, log) {
		log.Debug("dropping duplicate delivery")
		if b.opts.Observer != nil {
			b.opts.Observer.Deduplicated(a.Name())
		}
		return
	}
	log = log.With("req", strconv.FormatUint(b.reqID.Add(1), 36))
	if m.Received.IsZero() {
		m.Received = time.Now()
	}

	b.acceptMu.RLock()
	defer b.acceptMu.RUnlock()
	if !b.accepting || ctx.Err() != nil {
		b.refused(a, RefusedShuttingDown)
		log.Warn("shutting down, refusing command")
		b.tellAsync(a, m, log, Reply{Status: StatusError, Title: "chatops is shutting down", Text: "Your command was not run. Send it again in a minute, when the bot is back."})
		return
	}
	if c, ok := a.(Console); ok && c.Console() {
		b.fair.exempt(m.Identity())
	} else if why, ok := b.fair.admit(m.Identity(), time.Now()); !ok {
		log.Warn("per-user limit reached, refusing command")
		b.refused(a, RefusedSlowDown)
		b.tellAsync(a, m, log, Reply{Status: StatusError, Title: "Slow down", Text: "Your command was not run. " + why})
		return
	}
	select {
	case b.queue <- job{adapter: a, msg: m, log: log}:
	default:
		b.fair.done(m.Identity())
		log.Warn("queue full, refusing command")
		b.refused(a, RefusedBusy)
		b.tellAsync(a, m, log, Reply{Status: StatusError, Title: "chatops is busy", Text: "Too many commands are running right now, so yours was not started. Send it again in a minute."})
	}
}

func (b *Bot) refused(a Adapter, reason string) {
	if b.opts.Observer != nil {
		b.opts.Observer.Refused(a.Name(), reason)
	}
}

// firstClaim reports whether key is seen for the first time: in this
// process's memory, then in the shared store.
func (b *Bot) firstClaim(ctx context.Context, key string, log *slog.Logger) bool {
	if !b.seen.Add(key) {
		return false
	}
	if b.opts.Claims == nil {
		return true
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	first, err := b.opts.Claims.ClaimEvent(cctx, key, b.opts.ClaimTTL)
	if err != nil {
		log.Warn("could not record the event in the store; handling it anyway", "err", err)
		return true
	}
	return first
}

// tellAsync sends a short notice without blocking the adapter's read loop.
// Notices for one conversation are coalesced, never dropped.
func (b *Bot) tellAsync(a Adapter, m Message, log *slog.Logger, r Reply) {
	b.notices.tell(a, m, r, func(r Reply) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		w := &responder{adapter: a, to: m.Conversation, retryFor: 20 * time.Second, log: log}
		if _, err := w.Reply(ctx, r); err != nil {
			log.Error("could not send notice", "err", err)
		}
	})
}
