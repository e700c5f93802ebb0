package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"

	"github.com/chatops-dev/chatops/store"
)

// Notify and Listen: NOTIFY/LISTEN on chatops_events, over pgx itself
// (LISTEN needs a session of its own, which database/sql cannot hold).

// channel is the NOTIFY channel of Notify and Listen. Channels are
// database-wide, not per schema: deployments sharing one database in
// different schemas hear each other, so payloads must be safe to receive
// by a process that does not know what they name.
const channel = "chatops_events"

// Tuning of Listen's dedicated connection.
const (
	// listenMinBackoff and listenMaxBackoff bound the wait before
	// reconnecting after a drop; it doubles while connecting keeps
	// failing, so a database down for a while is not hammered.
	listenMinBackoff = 100 * time.Millisecond
	listenMaxBackoff = 10 * time.Second
	// listenConnectTimeout bounds one connection attempt.
	listenConnectTimeout = 10 * time.Second
	// listenIdleCheck is how long Listen waits for a notification before
	// pinging its connection: a peer gone without closing the connection
	// (a dead host, a dropped NAT entry) would leave it waiting forever,
	// missing everything, since TCP keepalive notices only after minutes.
	listenIdleCheck = 30 * time.Second
	// listenPingTimeout bounds that ping.
	listenPingTimeout = 10 * time.Second
)

// Notify sends payload on the chatops_events channel (pg_notify), to every
// Listen on this database, in any process; see store.Store.
func (s *Store) Notify(ctx context.Context, payload string) error {
	if err := store.CheckPayload(payload); err != nil {
		return fmt.Errorf("store: notifying: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, channel, payload); err != nil {
		return fmt.Errorf("store: notifying on %s: %w", s.where, err)
	}
	return nil
}

// Listen calls f with every payload notified on this database until ctx
// ends or the Store is closed; see store.Store. It holds a connection of
// its own, outside the pool (LISTEN belongs to a session, and a pooled
// connection held forever would shrink the pool), and opens a new one,
// with backoff, whenever that one fails. Payloads notified while it
// reconnects are lost.
func (s *Store) Listen(ctx context.Context, f func(payload string)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	backoff := listenMinBackoff
	for {
		// The error is dropped: the Store has no logger, retrying is all
		// Listen can do, and Ping reports a database that stays down.
		listened, _ := s.listenOnce(ctx, f)
		if ctx.Err() != nil {
			return nil
		}
		if listened {
			// The connection worked until it dropped: retry soon.
			backoff = listenMinBackoff
		}
		// Jitter, so replicas that lost the database together do not
		// reconnect in lockstep.
		wait := backoff/2 + rand.N(backoff/2+1)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, listenMaxBackoff)
	}
}

// listenOnce connects, listens and calls f with each notification until
// the connection fails or ctx ends. listened reports whether LISTEN took
// effect.
func (s *Store) listenOnce(ctx context.Context, f func(payload string)) (listened bool, err error) {
	cfg := s.pool.Config().ConnConfig.Copy()
	// On a context's end, set a deadline on the socket instead of sending
	// a cancel request over a new connection (pgx's default): the idle
	// check times out a wait every listenIdleCheck, and a timed-out wait
	// leaves the connection usable.
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()}
	}
	cctx, ccancel := context.WithTimeout(ctx, listenConnectTimeout)
	conn, err := pgx.ConnectConfig(cctx, cfg)
	ccancel()
	if err != nil {
		return false, fmt.Errorf("store: connecting to %s to listen: %w", s.where, err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		return false, fmt.Errorf("store: listening on %s: %w", s.where, err)
	}
	for {
		wctx, wcancel := context.WithTimeout(ctx, listenIdleCheck)
		n, err := conn.WaitForNotification(wctx)
		idle := wctx.Err() != nil
		wcancel()
		switch {
		case err == nil:
			f(n.Payload)
		case ctx.Err() != nil:
			return true, nil
		case idle:
			pctx, pcancel := context.WithTimeout(ctx, listenPingTimeout)
			err := conn.Ping(pctx)
			pcancel()
			if err != nil && ctx.Err() == nil {
				return true, fmt.Errorf("store: pinging the listening connection to %s: %w", s.where, err)
			}
		default:
			return true, fmt.Errorf("store: waiting for notifications from %s: %w", s.where, err)
		}
	}
}
