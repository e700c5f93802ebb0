package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/retry"
)

// intents are the gateway intents the adapter asks for. None is
// privileged: Discord delivers the content of DMs and of messages that
// mention the bot without the Message Content intent, and those are the
// only messages the bot acts on. GUILDS brings GUILD_CREATE, where the
// bot's managed role is learnt.
const intents = discordgo.IntentsGuilds | discordgo.IntentsGuildMessages | discordgo.IntentsDirectMessages

// gatewayQuery is appended to the gateway and resume URLs.
const gatewayQuery = "/?v=10&encoding=json"

// fatalCloseCodes end Run: reconnecting cannot fix them.
var fatalCloseCodes = map[int]string{
	4004: "Discord rejected the token (close code 4004 Authentication failed): check [discord] token",
	4010: "Discord refused the shard (close code 4010 Invalid shard)",
	4011: "Discord requires sharding for this bot (close code 4011 Sharding required)",
	4012: "Discord refused the gateway version (close code 4012 Invalid API version)",
	4013: "Discord refused the intents (close code 4013 Invalid intent(s))",
	4014: "Discord refused a privileged intent that is not enabled for this bot (close code 4014 Disallowed intent(s)): enable it under Bot > Privileged Gateway Intents, or do not request it",
}

// gwSession is what survives a connection so the next one can RESUME.
type gwSession struct {
	id        string
	resumeURL string
	seq       atomic.Int64
}

// outcome says how a gateway connection ended.
type outcome struct {
	err       error // why it ended, for the log
	fatal     bool  // stop: Run returns err
	resumable bool  // the session may be resumed
	invalid   bool  // op 9: wait 1–5 s before the next attempt
	now       bool  // reconnect at once (op 7)
	connected bool  // READY or RESUMED was received
}

// Run implements bot.Adapter. The adapter owns the one gateway connection:
// it identifies, heartbeats, resumes through resume_gateway_url after a
// drop, an op 7 or a zombied connection, identifies again when Discord
// says the session is gone, and stops with an error on close codes that
// reconnecting cannot fix (4004, 4010–4014). There is never more than one
// connection: the next is dialled only after the last one was closed.
func (a *Adapter) Run(ctx context.Context, deliver func(bot.Message)) error {
	a.setState(bot.StateConnecting)
	rest, err := a.newSession()
	if err != nil {
		return fmt.Errorf("discord: %w", err)
	}
	a.mu.Lock()
	a.sess = rest
	a.mu.Unlock()
	var gs gwSession
	failures := 0
	for {
		resume := gs.id != "" && gs.resumeURL != ""
		url := gs.resumeURL
		if !resume {
			gs = gwSession{}
			u, err := a.gatewayURL(ctx, rest)
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				var re *discordgo.RESTError
				if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode == http.StatusUnauthorized {
					a.setState(bot.StateDegraded)
					return errors.New("discord: Discord rejected the token (401 on GET /gateway/bot): check [discord] token")
				}
				failures++
				if !a.pause(ctx, a.backoff(failures), "discord gateway lookup failed", err) {
					return nil
				}
				continue
			}
			url = u
		}
		out := a.connect(ctx, url, &gs, resume, deliver)
		if ctx.Err() != nil {
			return nil
		}
		a.setState(bot.StateDegraded)
		if out.fatal {
			return fmt.Errorf("discord: %w", out.err)
		}
		if !out.resumable {
			gs.id, gs.resumeURL = "", ""
		}
		if out.connected {
			failures = 0
		}
		var wait time.Duration
		switch {
		case out.invalid:
			wait = a.invalidWait() // Discord asks for a random 1–5 s
		case out.now:
		default:
			failures++
			wait = a.backoff(failures)
		}
		if !a.pause(ctx, wait, "discord gateway connection ended, reconnecting", out.err) {
			return nil
		}
	}
}

func (a *Adapter) pause(ctx context.Context, d time.Duration, msg string, err error) bool {
	a.log.Warn(msg, "err", err, "resume_in", d.Round(time.Millisecond))
	return retry.Sleep(ctx, d)
}

// backoff is the wait before attempt n (1-based): the shared jittered,
// capped exponential backoff (bot/retry).
func (a *Adapter) backoff(n int) time.Duration {
	return retry.Backoff{Min: a.cfg.BackoffMin, Max: a.cfg.BackoffMax}.Wait(n - 1)
}

// invalidSessionWait is Discord's documented wait after op 9: a random
// 1–5 seconds.
func invalidSessionWait() time.Duration {
	return time.Second + rand.N(4*time.Second+1)
}

func (a *Adapter) gatewayURL(ctx context.Context, rest *discordgo.Session) (string, error) {
	g, err := rest.GatewayBot(discordgo.WithContext(ctx))
	if err != nil {
		return "", fmt.Errorf("GET /gateway/bot: %w", err)
	}
	return g.URL, nil
}

// conn is one gateway websocket.
type conn struct {
	ws       *websocket.Conn
	wmu      sync.Mutex
	acked    atomic.Bool
	lastRecv atomic.Int64
}

func (c *conn) send(v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.ws.WriteJSON(v)
}

// closeResumable closes with a code other than 1000/1001, which would end
// the session on Discord's side.
func (c *conn) closeResumable() {
	c.wmu.Lock()
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4000, "reconnecting"), time.Now().Add(time.Second))
	c.wmu.Unlock()
	_ = c.ws.Close()
}

type frame struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d"`
	S  int64           `json:"s"`
	T  string          `json:"t"`
}

// connect runs one gateway connection until it ends.
func (a *Adapter) connect(ctx context.Context, url string, gs *gwSession, resume bool, deliver func(bot.Message)) outcome {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	ws, _, err := websocket.DefaultDialer.DialContext(dctx, strings.TrimSuffix(url, "/")+gatewayQuery, nil)
	cancel()
	if err != nil {
		return outcome{err: fmt.Errorf("dialling the gateway: %w", err), resumable: resume}
	}
	c := &conn{ws: ws}
	c.lastRecv.Store(time.Now().UnixNano())
	stop := make(chan struct{})
	var reason atomic.Pointer[string] // set by whoever closes the connection on purpose
	defer func() {
		close(stop)
		_ = ws.Close()
	}()
	go func() {
		select {
		case <-ctx.Done():
			c.wmu.Lock()
			_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "shutdown"), time.Now().Add(time.Second))
			c.wmu.Unlock()
			_ = ws.Close()
		case <-stop:
		}
	}()

	_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	var hello frame
	if err := ws.ReadJSON(&hello); err != nil || hello.Op != 10 {
		return a.ended(err, resume, false)
	}
	_ = ws.SetReadDeadline(time.Time{})
	var h struct {
		Interval int64 `json:"heartbeat_interval"`
	}
	_ = json.Unmarshal(hello.D, &h)
	interval := max(time.Duration(h.Interval)*time.Millisecond, 10*time.Millisecond)

	if resume {
		err = c.send(map[string]any{"op": 6, "d": map[string]any{"token": "Bot " + a.cfg.Token, "session_id": gs.id, "seq": gs.seq.Load()}})
	} else {
		err = c.send(map[string]any{"op": 2, "d": map[string]any{"token": "Bot " + a.cfg.Token, "intents": intents,
			"properties": map[string]string{"os": "linux", "browser": "chatops", "device": "chatops"}}})
	}
	if err != nil {
		return outcome{err: fmt.Errorf("sending %s: %w", map[bool]string{true: "RESUME", false: "IDENTIFY"}[resume], err), resumable: resume}
	}
	go a.heartbeat(c, gs, interval, stop, &reason)

	connected := false
	for {
		var f frame
		if err := ws.ReadJSON(&f); err != nil {
			if r := reason.Load(); r != nil {
				return outcome{err: errors.New(*r), resumable: gs.id != "", connected: connected}
			}
			if ctx.Err() != nil {
				return outcome{}
			}
			return a.ended(err, gs.id != "", connected)
		}
		c.lastRecv.Store(time.Now().UnixNano())
		switch f.Op {
		case 0:
			gs.seq.Store(f.S)
			if a.safeDispatch(f, gs, deliver) {
				connected = true
			}
		case 1:
			_ = c.send(map[string]any{"op": 1, "d": gs.seq.Load()})
		case 7:
			c.closeResumable()
			return outcome{err: errors.New("Discord asked to reconnect (op 7)"), resumable: gs.id != "", now: true, connected: connected}
		case 9:
			var resumable bool
			_ = json.Unmarshal(f.D, &resumable)
			c.closeResumable()
			return outcome{err: fmt.Errorf("Discord invalidated the session (op 9, resumable %v)", resumable), resumable: resumable && gs.id != "", invalid: true, connected: connected}
		case 11:
			c.acked.Store(true)
		}
	}
}

// ended classifies a read error: a close code from Discord, or a drop.
func (a *Adapter) ended(err error, resumable, connected bool) outcome {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		if msg, ok := fatalCloseCodes[ce.Code]; ok {
			return outcome{err: errors.New(msg), fatal: true}
		}
		switch ce.Code {
		case 4007, 4009: // invalid seq, session timed out: identify anew
			resumable = false
		}
		return outcome{err: fmt.Errorf("gateway closed the connection: %d %s", ce.Code, ce.Text), resumable: resumable, connected: connected}
	}
	if err == nil {
		err = errors.New("no HELLO")
	}
	return outcome{err: fmt.Errorf("gateway connection lost: %w", err), resumable: resumable, connected: connected}
}

// heartbeat beats at Discord's interval (the first after a random part of
// it) and closes a zombied connection: one whose previous beat was never
// acknowledged, or that delivered nothing for the watchdog bound.
func (a *Adapter) heartbeat(c *conn, gs *gwSession, interval time.Duration, stop <-chan struct{}, reason *atomic.Pointer[string]) {
	c.acked.Store(true)
	next := time.Duration(rand.Int64N(int64(interval)) + 1)
	check := max(min(interval, a.cfg.Watchdog/4), 5*time.Millisecond)
	beat := time.NewTimer(next)
	tick := time.NewTicker(check)
	defer beat.Stop()
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			if idle := time.Since(time.Unix(0, c.lastRecv.Load())); idle > a.cfg.Watchdog {
				r := fmt.Sprintf("gateway silent for %s", idle.Round(time.Millisecond))
				reason.Store(&r)
				c.closeResumable()
				return
			}
		case <-beat.C:
			if !c.acked.Swap(false) {
				r := "heartbeat not acknowledged: zombied connection"
				reason.Store(&r)
				c.closeResumable()
				return
			}
			_ = c.send(map[string]any{"op": 1, "d": gs.seq.Load()})
			beat.Reset(interval)
		}
	}
}

// dispatch handles an op 0 event. It reports whether the session is now
// connected (READY or RESUMED).
func firstOf(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
