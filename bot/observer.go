package bot

import (
	"context"
	"time"
)

// Observer is told what the bot does, for metrics (metrics.Metrics is
// one). Its methods are called on the bot's hot paths: they must be cheap
// and never block. A nil Options.Observer observes nothing.
type Observer interface {
	// Deduplicated: an event of adapter was dropped as already handled.
	Deduplicated(adapter string)
	// Refused: a command was not started, for reason RefusedBusy or
	// RefusedShuttingDown.
	Refused(adapter, reason string)
	// AdapterState reports an adapter's connection state; it is called
	// periodically for every adapter that reports one (StateReporter),
	// whether or not it changed.
	AdapterState(adapter string, s ConnState)
}

// Reasons passed to Observer.Refused.
const (
	RefusedBusy         = "busy"
	RefusedShuttingDown = "shutting_down"
	RefusedSlowDown     = "slow_down"
)

// statePoll is how often adapter states are reported to the Observer.
// Adapters keep their state in an atomic, so reading it costs nothing;
// a reconnect waits at least half a second of backoff, so a drop is not
// missed.
const statePoll = 100 * time.Millisecond

// reportStates reports every adapter's state to the Observer until ctx
// ends: at once, then every statePoll.
func (b *Bot) reportStates(ctx context.Context) {
	t := time.NewTicker(statePoll)
	defer t.Stop()
	for {
		for name, s := range b.States() {
			b.opts.Observer.AdapterState(name, s)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// QueueDepth is how many commands wait for a worker now.
func (b *Bot) QueueDepth() int { return len(b.queue) }

// Checker is an optional Adapter capability: checking the adapter's
// credentials with one call to its platform, for the start-up check and
// `chatops check`. It returns who the bot is there, e.g.
// "as @chatops (U0123)", or an error saying what is wrong (without the
// token).
type Checker interface {
	Check(ctx context.Context) (string, error)
}
