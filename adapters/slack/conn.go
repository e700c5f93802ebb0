package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/retry"
)

// fatalCodes are Slack errors that reconnecting cannot fix.
var fatalCodes = map[string]bool{
	"invalid_auth": true, "not_authed": true, "account_inactive": true,
	"token_revoked": true, "token_expired": true, "not_allowed_token_type": true,
	"missing_scope": true,
}

// errLinkDisabled ends Run: Slack closed the connection because Socket
// Mode was turned off for the app.
var errLinkDisabled = errors.New("Slack closed the connection with link_disabled: Socket Mode is turned off for the app; turn it on at api.slack.com/apps > Socket Mode")

func isFatal(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, errLinkDisabled) {
		return true
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && fatalCodes[se.Err] {
		return true
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) && sc.Code == http.StatusNotFound {
		return true
	}
	return fatalCodes[err.Error()]
}

// Run implements bot.Adapter: it learns the bot's identity (auth.test),
// then keeps a Socket Mode connection up until ctx ends (see connect).
func (a *Adapter) Run(ctx context.Context, deliver func(bot.Message)) error {
	if err := a.identify(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		a.setState(bot.StateDegraded)
		return err
	}
	err := a.connect(ctx, deliver)
	if ctx.Err() != nil {
		return nil
	}
	a.setState(bot.StateDegraded)
	if errors.Is(err, errLinkDisabled) {
		return fmt.Errorf("slack: %w", err)
	}
	return fmt.Errorf("slack: opening a Socket Mode connection with app_token: %w", err)
}

// identify calls auth.test until it answers, to learn the bot's user id.
func (a *Adapter) identify(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		res, err := a.api.AuthTestContext(ctx)
		if err == nil {
			a.self.Store(&ident{userID: res.UserID, botID: res.BotID})
			a.log.Info("authenticated", "bot_user", res.UserID, "team", res.TeamID)
			return nil
		}
		if isFatal(err) {
			return fmt.Errorf("slack: auth.test with bot_token: %w", err)
		}
		d := a.backoff(attempt)
		var rl *slack.RateLimitedError
		if errors.As(err, &rl) {
			d = max(d, rl.RetryAfter)
		}
		a.setState(bot.StateDegraded)
		a.log.Warn("auth.test failed, retrying", "err", err, "in", d)
		if !retry.Sleep(ctx, d) {
			return ctx.Err()
		}
	}
}

// connEvent is what a connection's reader tells the supervisor: a
// disconnect frame (err nil) or the connection's end.
type connEvent struct {
	c      *socketConn
	reason string // the disconnect frame's reason
	err    error
}

// dialResult is the outcome of one connection attempt.
type dialResult struct {
	c   *socketConn
	err error
}

// connect supervises the connections until ctx ends or a fatal error.
//
// One connection is current. When Slack announces its end (a disconnect
// frame with reason warning or refresh_requested), the next connection is
// opened at once and the old one is kept reading until Slack closes it
// (at most retireAfter), so no envelope falls into a gap between the two.
// A connection that drops, or goes silent for cfg.Watchdog, is replaced
// after the shared jittered, capped backoff (a 429's Retry-After when
// longer). link_disabled and rejected credentials end the loop.
func (a *Adapter) connect(ctx context.Context, deliver func(bot.Message)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := make(chan connEvent)
	dialed := make(chan dialResult)
	var (
		cur      *socketConn
		live     = map[*socketConn]bool{} // every connection with a reader
		serial   int
		dialing  bool
		attempts int // failed or short-lived connections in a row
	)
	defer func() {
		for c := range live {
			c.close()
		}
	}()
	dial := func(after time.Duration) {
		dialing = true
		go func() {
			if after > 0 {
				a.log.Info("reconnecting to Slack", "in", after.Round(time.Millisecond))
				retry.Sleep(ctx, after) // ctx's end is seen below
			}
			var r dialResult
			if r.err = ctx.Err(); r.err == nil {
				r.c, r.err = a.dialSocket(ctx)
			}
			select {
			case dialed <- r:
			case <-ctx.Done():
				if r.c != nil {
					r.c.close()
				}
			}
		}()
	}
	dial(0)
	tick := time.NewTicker(max(a.cfg.Watchdog/4, 5*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()

		case r := <-dialed:
			dialing = false
			if r.err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if isFatal(r.err) {
					return r.err
				}
				if cur == nil {
					a.setState(bot.StateDegraded)
				}
				a.log.Warn("connecting to Slack failed", "err", r.err)
				wait := a.backoff(attempts)
				var rl *slack.RateLimitedError
				if errors.As(r.err, &rl) {
					wait = max(wait, rl.RetryAfter)
				}
				attempts++
				dial(wait)
				continue
			}
			serial++
			r.c.serial = serial
			live[r.c] = true
			go a.read(ctx, r.c, events, deliver)
			if cur != nil {
				cur.retiredAt = time.Now()
				a.log.Info("next Slack connection open; the old one is kept until Slack closes it",
					"connection", serial, "old", cur.serial)
			} else {
				a.log.Info("connected to Slack (Socket Mode)", "connection", serial)
			}
			cur = r.c
			a.setState(bot.StateConnected)

		case ev := <-events:
			if ev.err == nil {
				if ev.reason == "link_disabled" {
					return errLinkDisabled
				}
				if ev.c == cur && !dialing {
					a.log.Info("Slack will close the connection; opening the next one first",
						"reason", ev.reason, "connection", ev.c.serial)
					dial(0)
				}
				continue
			}
			delete(live, ev.c)
			ev.c.close()
			if ev.c != cur {
				a.log.Debug("old Slack connection closed", "connection", ev.c.serial)
				continue
			}
			cur = nil
			if ctx.Err() != nil {
				return ctx.Err()
			}
			a.setState(bot.StateDegraded)
			a.log.Warn("Slack connection lost", "connection", ev.c.serial, "err", ev.err)
			if time.Since(ev.c.opened) >= stableAfter {
				attempts = 0
			}
			if !dialing {
				wait := a.backoff(attempts)
				attempts++
				dial(wait)
			}

		case <-tick.C:
			for c := range live {
				switch {
				case c == cur && !c.dead && c.idle() > a.cfg.Watchdog:
					c.dead = true
					a.log.Warn("Slack connection silent, redialling", "silent_for", a.cfg.Watchdog, "connection", c.serial)
					a.setState(bot.StateDegraded)
					c.close() // its reader reports the end
				case c != cur && !c.dead && time.Since(c.retiredAt) > retireAfter:
					c.dead = true
					c.close()
				}
			}
		}
	}
}

// read reads one connection until it ends: envelopes are acknowledged,
// then translated and delivered; disconnect frames and the end go to the
// supervisor.
func (a *Adapter) read(ctx context.Context, c *socketConn, events chan<- connEvent, deliver func(bot.Message)) {
	report := func(ev connEvent) {
		select {
		case events <- ev:
		case <-ctx.Done():
		}
	}
	for {
		req, err := c.next()
		switch {
		case errors.Is(err, errBadFrame):
			a.log.Warn("unreadable Socket Mode frame", "err", err, "connection", c.serial)
			continue
		case err != nil:
			report(connEvent{c: c, err: err})
			return
		}
		switch req.Type {
		case socketmode.RequestTypeDisconnect:
			report(connEvent{c: c, reason: req.Reason})
		case socketmode.RequestTypeEventsAPI, socketmode.RequestTypeSlashCommands, socketmode.RequestTypeInteractive:
			a.handle(ctx, c, req, deliver)
		case socketmode.RequestTypeHello:
		default:
			a.log.Debug("ignoring Socket Mode frame", "type", req.Type)
		}
	}
}

// backoff returns the wait before reconnect attempt n (0-based): the
// shared jittered, capped exponential backoff (bot/retry).
func (a *Adapter) backoff(n int) time.Duration {
	return retry.Backoff{Min: a.cfg.BackoffMin, Max: a.cfg.BackoffMax}.Wait(n)
}
