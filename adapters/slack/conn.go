package slack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
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

// frameWatch is slack-go's logger for one session: it passes the
// library's log lines on (without the per-frame debug lines) and notices
// a disconnect frame whose reason is link_disabled.
type frameWatch struct {
	libLogger
	stop     context.CancelFunc
	disabled atomic.Bool
}

// Output implements slack-go's logger interface.
func (f *frameWatch) Output(depth int, s string) error {
	if !strings.Contains(s, "Received WebSocket message") {
		return f.libLogger.Output(depth, s)
	}
	if strings.Contains(s, `"type":"disconnect"`) && strings.Contains(s, `"reason":"link_disabled"`) {
		f.disabled.Store(true)
		f.stop()
	}
	return nil
}

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
// then keeps a Socket Mode connection up until ctx ends, redialling with
// jittered, capped exponential backoff after any drop, and tearing down
// connections that go silent.
func (a *Adapter) Run(ctx context.Context, deliver func(bot.Message)) error {
	if err := a.identify(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		a.setState(bot.StateDegraded)
		return err
	}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go a.watchdog(wctx)
	for ctx.Err() == nil {
		err := a.session(ctx, deliver)
		if ctx.Err() == nil && isFatal(err) {
			a.setState(bot.StateDegraded)
			if errors.Is(err, errLinkDisabled) {
				return fmt.Errorf("slack: %w", err)
			}
			return fmt.Errorf("slack: opening a Socket Mode connection with app_token: %w", err)
		}
	}
	return nil
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
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
		}
	}
}

// session runs one socketmode client. slack-go redials by itself after a
// drop (through gatedClient, which applies our backoff); the session ends
// when a connection attempt fails, so the next one starts from a fresh
// client under our backoff rather than slack-go's uncapped one.
func (a *Adapter) session(ctx context.Context, deliver func(bot.Message)) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// slack-go reconnects after any disconnect frame and keeps its reason
	// to itself; its debug log of each frame is where link_disabled (Socket
	// Mode turned off for the app) shows, which no reconnect can fix.
	frames := &frameWatch{libLogger: libLogger{a.log}, stop: cancel}
	smc := socketmode.New(a.api,
		socketmode.OptionDialer(a.dialer()),
		// slack-go's own ping check is only a backstop for our watchdog.
		socketmode.OptionPingInterval(2*a.cfg.Watchdog),
		socketmode.OptionLog(frames),
		socketmode.OptionDebug(true),
	)
	done := make(chan error, 1)
	go func() { done <- smc.RunContext(sctx) }()
	for {
		select {
		case err := <-done:
			if frames.disabled.Load() {
				return errLinkDisabled
			}
			return err
		case evt := <-smc.Events:
			if a.handle(sctx, smc, evt, deliver) {
				cancel()
				return <-done
			}
		}
	}
}

// onConnectionEvent updates state for slack-go's connection events. It
// reports whether the session should be restarted.
func (a *Adapter) onConnectionEvent(evt socketmode.Event) (restart bool) {
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		a.mu.Lock()
		was := !a.connectedAt.IsZero() || a.attempts > 0
		a.mu.Unlock()
		if was {
			a.setState(bot.StateDegraded)
		}
	case socketmode.EventTypeConnected:
		a.mu.Lock()
		a.connectedAt = time.Now()
		a.mu.Unlock()
		a.setState(bot.StateConnected)
		a.log.Info("connected to Slack (Socket Mode)")
	case socketmode.EventTypeConnectionError:
		a.setState(bot.StateDegraded)
		if ce, ok := evt.Data.(*slack.ConnectionErrorEvent); ok {
			var rl *slack.RateLimitedError
			if errors.As(ce.ErrorObj, &rl) {
				a.mu.Lock()
				a.retryAfter = rl.RetryAfter
				a.mu.Unlock()
			}
			a.log.Warn("connecting to Slack failed", "err", ce.ErrorObj)
		}
		return true
	case socketmode.EventTypeInvalidAuth:
		a.setState(bot.StateDegraded)
		a.log.Error("Slack rejected the app_token")
	case socketmode.EventTypeIncomingError:
		if e, ok := evt.Data.(*slack.IncomingEventError); ok {
			a.log.Warn("Socket Mode read failed", "err", e.ErrorObj)
		}
	case socketmode.EventTypeErrorBadMessage:
		if e, ok := evt.Data.(*socketmode.ErrorBadMessage); ok {
			a.log.Warn("unreadable Socket Mode frame", "err", e.Cause)
		}
	case socketmode.EventTypeErrorWriteFailed:
		if e, ok := evt.Data.(*socketmode.ErrorWriteFailed); ok {
			a.log.Warn("could not send an ack; Slack will redeliver", "err", e.Cause)
		}
	}
	return false
}

// backoff returns the wait before reconnect attempt n (0-based): the
// shared jittered, capped exponential backoff (bot/retry).
func (a *Adapter) backoff(n int) time.Duration {
	return retry.Backoff{Min: a.cfg.BackoffMin, Max: a.cfg.BackoffMax}.Wait(n)
}

// beforeConnect runs before every apps.connections.open call and waits out
// the backoff for reconnects. The first connection is not delayed.
func (a *Adapter) beforeConnect(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	a.mu.Lock()
	if !a.dialed {
		a.dialed = true
		a.mu.Unlock()
		return nil
	}
	if !a.connectedAt.IsZero() && time.Since(a.connectedAt) >= stableAfter {
		a.attempts = 0
	}
	a.connectedAt = time.Time{}
	d := max(a.backoff(a.attempts), a.retryAfter)
	a.attempts++
	a.retryAfter = 0
	a.mu.Unlock()
	a.log.Info("reconnecting to Slack", "in", d.Round(time.Millisecond))
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// gatedClient is the Web API HTTP client: it applies the reconnect backoff
// to apps.connections.open, the first step of every (re)connection.
type gatedClient struct {
	a *Adapter
	c *http.Client
}

// Do implements slack-go's HTTP client interface.
func (g gatedClient) Do(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.URL.Path, "/apps.connections.open") {
		if err := g.a.beforeConnect(req.Context()); err != nil {
			return nil, err
		}
	}
	return g.c.Do(req)
}

// dialer is slack-go's websocket dialer with a transport that records when
// bytes last arrived, for the watchdog.
func (a *Adapter) dialer() *websocket.Dialer {
	return &websocket.Dialer{
		Proxy:            http.ProxyFromEnvironment,
		HandshakeTimeout: 45 * time.Second,
		WriteBufferSize:  32 << 10, // above Slack's 20 KB frame limit, as slack-go does
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{Timeout: 30 * time.Second}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			ac := &activityConn{Conn: c}
			ac.touch()
			a.mu.Lock()
			a.cur = ac
			a.mu.Unlock()
			return ac, nil
		},
	}
}

// watchdog tears down a connection that has delivered nothing (no frame,
// no ping) for cfg.Watchdog; slack-go then redials.
func (a *Adapter) watchdog(ctx context.Context) {
	t := time.NewTicker(max(a.cfg.Watchdog/4, 5*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.mu.Lock()
			c := a.cur
			if c != nil && !c.closed.Load() && c.idle() > a.cfg.Watchdog {
				a.cur = nil
			} else {
				c = nil
			}
			a.mu.Unlock()
			if c != nil {
				a.log.Warn("Slack connection silent, redialling", "silent_for", a.cfg.Watchdog)
				a.setState(bot.StateDegraded)
				_ = c.Close()
			}
		}
	}
}

// activityConn is a net.Conn that records when it last read any bytes,
// and whether it was closed (a closed one is slack-go's to replace, not the
// watchdog's to judge).
type activityConn struct {
	net.Conn
	last   atomic.Int64 // unix nanoseconds
	closed atomic.Bool
}

// Close marks the connection closed and closes it.
func (c *activityConn) Close() error {
	c.closed.Store(true)
	return c.Conn.Close()
}

func (c *activityConn) touch() { c.last.Store(time.Now().UnixNano()) }

func (c *activityConn) idle() time.Duration { return time.Since(time.Unix(0, c.last.Load())) }

// Read reads and records activity.
func (c *activityConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.touch()
	}
	return n, err
}
