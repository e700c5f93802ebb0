package mattermost

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/retry"
)

// errBadToken stops Run: retrying cannot fix a rejected token.
var errBadToken = errors.New("mattermost rejected the token (401): check [mattermost] token, the bot account's access token")

// Run implements bot.Adapter: it connects, delivers messages, and
// reconnects with jittered exponential backoff after any drop, until ctx
// ends or the token is rejected.
func (a *Adapter) Run(ctx context.Context, deliver func(bot.Message)) error {
	a.setState(bot.StateConnecting)
	a.deliver.Store(&deliver)
	defer a.deliver.Store(nil)
	backoff := retry.Backoff{Min: a.cfg.BackoffMin, Max: a.cfg.BackoffMax}
	attempt := 0
	for {
		connectedAt := time.Now()
		err := a.session(ctx, deliver)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errBadToken) {
			return err
		}
		if a.State() == bot.StateConnected {
			a.setState(bot.StateDegraded)
		}
		// A session that lived a while was healthy: start backing off anew.
		if lived := time.Since(connectedAt); lived > 2*a.cfg.Watchdog || backoff.Healthy(lived) {
			attempt = 0
		}
		sleep := backoff.Wait(attempt)
		attempt++
		a.log.Warn("mattermost connection lost, reconnecting", "err", err, "in", sleep.Round(time.Millisecond))
		if !retry.Sleep(ctx, sleep) {
			return nil
		}
	}
}

// session runs one websocket connection until it fails.
func (a *Adapter) session(ctx context.Context, deliver func(bot.Message)) error {
	me, resp, err := a.client.GetMe(ctx, "")
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			return errBadToken
		}
		return fmt.Errorf("get bot user: %w", err)
	}
	a.me.Store(me)
	// The position is saved until the session ends, and once more as it
	// ends: the session waits for that last save, so a process that
	// stopped has stored where the next one starts.
	saving, stopSaving := context.WithCancel(ctx)
	saved := make(chan struct{})
	defer func() { stopSaving(); <-saved }()
	go func() { defer close(saved); a.saveCursors(saving, me) }()
	ws, err := model.NewWebSocketClient4(a.wsURL, a.cfg.Token)
	if err != nil {
		return fmt.Errorf("open websocket: %w", err)
	}
	defer ws.Close()

	// Every frame, including the server's pings (which never reach the
	// event channel), proves the connection alive.
	alive := make(chan struct{}, 1)
	touch := func() {
		select {
		case alive <- struct{}{}:
		default:
		}
	}
	origPing := ws.Conn.PingHandler()
	ws.Conn.SetPingHandler(func(s string) error { touch(); return origPing(s) })
	ws.Listen()

	watchdog := time.NewTimer(a.cfg.Watchdog)
	defer watchdog.Stop()
	probe := time.NewTicker(a.cfg.Watchdog / 3)
	defer probe.Stop()
	authenticated := false
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-alive:
			resetTimer(watchdog, a.cfg.Watchdog)
		case <-probe.C:
			// A request the server must answer: silence means a dead link.
			ws.SendMessage("ping", nil)
		case <-ws.PingTimeoutChannel:
			return errors.New("no ping from the server")
		case <-watchdog.C:
			return fmt.Errorf("no frame from the server for %s", a.cfg.Watchdog)
		case resp, ok := <-ws.ResponseChannel:
			if !ok {
				return listenErr(ws)
			}
			resetTimer(watchdog, a.cfg.Watchdog)
			if resp.SeqReply == 1 && resp.Status != model.StatusOk {
				return errBadToken
			}
		case ev, ok := <-ws.EventChannel:
			if !ok {
				if !authenticated {
					// The server closes the socket on a bad token
					// without saying why; GetMe passed, so this is a drop.
					return fmt.Errorf("websocket closed before hello: %w", listenErr(ws))
				}
				return listenErr(ws)
			}
			resetTimer(watchdog, a.cfg.Watchdog)
			switch ev.EventType() {
			case model.WebsocketEventHello:
				authenticated = true
				wasDown := a.State() != bot.StateConnecting
				a.setState(bot.StateConnected)
				a.log.Info("mattermost connected", "bot", me.Username)
				switch {
				case wasDown:
					a.catchUp(ctx, me, deliver)
				case a.loadCursor(ctx, me):
					// Restarted: posts since the last one the previous
					// process saw are caught up.
					a.catchUp(ctx, me, deliver)
				default:
					// Posts from before the first connection are not
					// commands for this run: a later catch-up starts here.
					a.lastSeen.CompareAndSwap(0, time.Now().UnixMilli())
				}
				// A catch-up runs here, in the loop, and may take longer
				// than the watchdog (many posts, "missed" notices waiting
				// out a 429): the frames that came meanwhile are still
				// queued, unread, and the probe did not run, so the
				// watchdog restarts rather than cut a live connection.
				resetTimer(watchdog, a.cfg.Watchdog)
			case model.WebsocketEventPosted:
				if m, ok := a.fromEvent(ev, me); ok {
					deliver(m)
				}
			}
		}
	}
}

// tellMissed answers a command that waited too long for the bot.
func (a *Adapter) tellMissed(ctx context.Context, m bot.Message, sent time.Time) {
	when := sent.UTC().Format("15:04 UTC")
	_, err := a.Send(ctx, m.Conversation, bot.Reply{Status: bot.StatusError, Title: "chatops missed this command",
		Text: fmt.Sprintf("The bot was away when it was sent (%s), more than %s ago, so it was not run: it may no longer be wanted. Send it again if it is.", when, a.cfg.CatchUp)})
	if err != nil {
		a.log.Warn("catch-up: could not answer a missed command", "err", err)
	}
}

// cursorKey names the stored newest post for this bot account.
func cursorKey(me *model.User) string { return "mattermost:last-post:" + me.Id }

// loadCursor takes the newest post seen by a previous process, if one was
// stored, and reports whether it did.
func (a *Adapter) loadCursor(ctx context.Context, me *model.User) bool {
	if a.cfg.Cursors == nil || a.lastSeen.Load() != 0 {
		return false
	}
	v, err := a.cfg.Cursors.Cursor(ctx, cursorKey(me))
	if err != nil {
		a.log.Warn("cannot read the stored catch-up position; starting from now", "err", err)
		return false
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms <= 0 {
		return false
	}
	return a.lastSeen.CompareAndSwap(0, ms)
}

// saveCursors stores the newest post seen every second while it moves,
// and once more when the adapter stops. A post seen again after a crash is
// harmless: the bot's event claims drop what was already handled.
func (a *Adapter) saveCursors(ctx context.Context, me *model.User) {
	if a.cfg.Cursors == nil {
		return
	}
	var saved int64
	save := func(ctx context.Context) {
		if v := a.lastSeen.Load(); v != saved {
			if err := a.cfg.Cursors.SetCursor(ctx, cursorKey(me), strconv.FormatInt(v, 10)); err != nil {
				a.log.Warn("cannot store the catch-up position", "err", err)
				return
			}
			saved = v
		}
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			save(sctx)
			cancel()
			return
		case <-t.C:
			save(ctx)
		}
	}
}

func listenErr(ws *model.WebSocketClient) error {
	if ws.ListenError != nil {
		return fmt.Errorf("websocket closed: %w", ws.ListenError)
	}
	return errors.New("websocket closed by the server")
}

func resetTimer(t *time.Timer, d time.Duration) {
	t.Stop()
	t.Reset(d)
}

// catchUp delivers posts created while the connection was down, in every
// channel the bot belongs to, so commands sent during a drop still run.
func (a *Adapter) catchUp(ctx context.Context, me *model.User, deliver func(bot.Message)) {
	since := a.lastSeen.Load()
	if floor := time.Now().Add(-a.cfg.MaxCatchUp).UnixMilli(); since < floor {
		since = floor
	}
	teams, _, err := a.client.GetTeamsForUser(ctx, me.Id, "")
	if err != nil {
		a.log.Warn("catch-up: cannot list teams", "err", err)
		return
	}
	seen := map[string]bool{}
	for _, t := range teams {
		if !a.teams.Allows(t.Id) {
			continue
		}
		chans, _, err := a.client.GetChannelsForTeamForUser(ctx, t.Id, me.Id, false, "")
		if err != nil {
			a.log.Warn("catch-up: cannot list channels", "team", t.Id, "err", err)
			continue
		}
		for _, c := range chans {
			if seen[c.Id] {
				continue // DMs are listed once per team
			}
			seen[c.Id] = true
			list, _, err := a.client.GetPostsSince(ctx, c.Id, since, false)
			if err != nil {
				a.log.Warn("catch-up: cannot fetch posts", "channel", c.Id, "err", err)
				continue
			}
			posts := list.ToSlice()
			sort.Slice(posts, func(i, j int) bool { return posts[i].CreateAt < posts[j].CreateAt })
			stale := time.Now().Add(-a.cfg.CatchUp).UnixMilli()
			for _, p := range posts {
				if p.CreateAt <= since || p.DeleteAt != 0 {
					continue // edits of older posts also come back
				}
				m, ok := a.fromPost(p, string(c.Type), me)
				switch {
				case !ok || !m.Addressed || m.Sender.IsSelf || m.Sender.IsBot:
				case p.CreateAt < stale:
					a.log.Info("catch-up: a command missed for too long is not run", "post", p.Id)
					a.tellMissed(ctx, m, time.UnixMilli(p.CreateAt))
				default:
					a.log.Info("catch-up: delivering a post missed while disconnected", "post", p.Id)
					deliver(m)
				}
			}
		}
	}
}
