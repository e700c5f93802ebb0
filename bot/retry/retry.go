// Package retry is the one backoff every reconnect loop and retrying
// sender uses (the Slack, Mattermost and Discord adapters, the bot's
// responder): jittered, capped exponential waits that a healthy period
// resets, and a sleep that ends with its context. A fix here is a fix
// everywhere.
package retry

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is a capped exponential backoff with "equal jitter": the wait
// before attempt n (0-based) is d/2 plus a random part of d/2, where d
// doubles from Min up to Max. The jitter keeps a fleet of bots that lost
// the same server from redialling in step; the floor of d/2 keeps the
// wait from collapsing to nothing.
type Backoff struct {
	Min, Max time.Duration
}

// Wait returns the wait before attempt n (0-based).
func (b Backoff) Wait(n int) time.Duration {
	lo := max(b.Min, time.Millisecond)
	hi := max(b.Max, lo)
	d := lo
	for i := 0; i < n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d/2 + rand.N(d/2+1)
}

// Healthy reports whether a connection that lived this long was healthy
// enough that the next failure starts backing off from Min again.
func (b Backoff) Healthy(lived time.Duration) bool {
	return lived >= 2*max(b.Max, b.Min) || lived >= 2*time.Minute
}

// Sleep waits d or until ctx ends, and reports whether it waited the whole
// time.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
