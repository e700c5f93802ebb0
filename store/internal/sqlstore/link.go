package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/chatops-dev/chatops/store"
)

// pendingColumns are the pending_links columns, in the order of
// scanPending and CreatePendingLink's INSERT (which stores no answer).
const pendingColumns = `id, identity, platform, channel_id, thread_id, direct, handle,
	device_code, poll_interval, expires_at, created_at, owner, lease_until, answer`

// pendingHeld is SQL for the pending links that count as the identity's
// link: unexpired (polled) or answered (an answer owed, expired or not).
// table qualifies the columns ("" for none); now is the dialect's clock,
// SQL from Dialect.Now.
func pendingHeld(table, now string) string {
	if table != "" {
		table += "."
	}
	return `(` + table + `expires_at > ` + now + ` OR ` + table + `answer IS NOT NULL)`
}

// CreatePendingLink stores a pending link; see store.Store. One statement
// decides between two concurrent creators for one identity (on any
// replica): the insert, or the replacement of an expired, unanswered
// link, happens for one of them; the other changes no row and gets
// ErrExists. An answered link is never replaced: its answer is owed.
func (s *Store) CreatePendingLink(ctx context.Context, l *store.PendingLink) error {
	if l.ID == "" || l.Identity == "" {
		return errors.New("store: creating a pending link: empty id or identity")
	}
	n := *l
	n.CreatedAt, n.ExpiresAt, n.Answer = now(), store.StoredTime(l.ExpiresAt), nil
	n.Interval = l.Interval.Truncate(store.TimePrecision)
	var a Args
	vals := []string{a.Add(n.ID), a.Add(n.Identity), a.Add(n.Platform), a.Add(n.ChannelID), a.Add(n.ThreadID),
		a.Add(n.Direct), a.Add(n.Handle), a.Add(nonNil(n.DeviceCode)), a.Add(n.Interval.Microseconds()),
		a.Add(s.d.Time(n.ExpiresAt)), a.Add(s.d.Time(n.CreatedAt)), a.Add(n.Owner), s.leaseSQL(&a, l.LeaseUntil), a.Add(nil)}
	values := ""
	for i, v := range vals {
		if i > 0 {
			values += ", "
		}
		values += v
	}
	err := s.w.QueryRow(ctx, `INSERT INTO pending_links (`+pendingColumns+`) VALUES (`+values+`)
		ON CONFLICT (identity) DO UPDATE SET id = excluded.id, platform = excluded.platform,
			channel_id = excluded.channel_id, thread_id = excluded.thread_id, direct = excluded.direct,
			handle = excluded.handle, device_code = excluded.device_code,
			poll_interval = excluded.poll_interval, expires_at = excluded.expires_at,
			created_at = excluded.created_at, owner = excluded.owner, lease_until = excluded.lease_until,
			answer = NULL
		WHERE NOT `+pendingHeld("pending_links", s.d.Now(&a))+`
		RETURNING lease_until`, a.Values()...).Scan(s.d.TimeDest(&n.LeaseUntil))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("store: creating the pending link of %s: %w", l.Identity, store.ErrExists)
	case err != nil:
		return fmt.Errorf("store: creating the pending link of %s: %w", l.Identity, err)
	}
	*l = n
	return nil
}

// SetPendingLinkTarget stores where a pending link's outcome goes; see
// store.Store.
func (s *Store) SetPendingLinkTarget(ctx context.Context, l *store.PendingLink) error {
	k, err := s.w.Exec(ctx, `UPDATE pending_links SET channel_id = $2, thread_id = $3, direct = $4, handle = $5
		WHERE id = $1`, l.ID, l.ChannelID, l.ThreadID, l.Direct, l.Handle)
	switch {
	case err != nil:
		return fmt.Errorf("store: saving where pending link %s answers: %w", l.ID, err)
	case k == 0:
		return fmt.Errorf("store: saving where pending link %s answers: %w", l.ID, store.ErrNotFound)
	}
	return nil
}

// GetPendingLink returns identity's unexpired or answered pending link;
// see store.Store.
func (s *Store) GetPendingLink(ctx context.Context, identity string) (*store.PendingLink, error) {
	var a Args
	who, now := a.Add(identity), s.d.Now(&a)
	l, err := s.scanPending(s.r.QueryRow(ctx, `SELECT `+pendingColumns+` FROM pending_links
		WHERE identity = `+who+` AND `+pendingHeld("", now), a.Values()...))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("pending link of %s: %w", identity, store.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("store: reading the pending link of %s: %w", identity, err)
	}
	return l, nil
}

// AcquirePendingLinks leases unexpired or answered pending links to
// owner; see store.Store. The dialect's Acquire picks and leases them in
// one statement, as for runs. Answered links are acquired even when
// expired: their answer is owed (whoever answered died before delivering
// it), and the acquirer delivers it.
func (s *Store) AcquirePendingLinks(ctx context.Context, owner string, lease time.Duration, limit int) ([]*store.PendingLink, error) {
	if err := checkAcquire(owner, lease, limit); err != nil {
		return nil, fmt.Errorf("store: acquiring pending links for %q: %w", owner, err)
	}
	var a Args
	live := pendingHeld("", s.d.Now(&a))
	q := s.d.Acquire(&a, Leased{Table: "pending_links", Key: "identity", Live: live,
		Order: "created_at, identity", Returning: pendingColumns}, owner, lease, limit)
	rows, err := s.w.Query(ctx, q, a.Values()...)
	if err != nil {
		return nil, fmt.Errorf("store: acquiring pending links for %q: %w", owner, err)
	}
	defer rows.Close()
	var links []*store.PendingLink
	for rows.Next() {
		l, err := s.scanPending(rows)
		if err != nil {
			return nil, fmt.Errorf("store: acquiring pending links for %q: %w", owner, err)
		}
		links = append(links, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: acquiring pending links for %q: %w", owner, err)
	}
	slices.SortFunc(links, func(a, b *store.PendingLink) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.Identity, b.Identity))
	})
	return links, nil
}

// ReleasePendingLinks ends owner's leases on pending links now; see
// store.Store.
func (s *Store) ReleasePendingLinks(ctx context.Context, owner string) error {
	if err := s.release(ctx, "pending_links", "1 = 1", owner); err != nil {
		return fmt.Errorf("store: releasing the pending links of %q: %w", owner, err)
	}
	return nil
}

// AnswerPendingLink stores the answer of the pending link id if it has
// none yet, and leases the link to owner; see store.Store. The UPDATE's
// condition on the answer decides which of several callers reports true,
// as the DELETE did before answers were stored: on PostgreSQL a second
// concurrent UPDATE waits for the first's row lock and re-checks the
// condition on the row it left, which then fails.
func (s *Store) AnswerPendingLink(ctx context.Context, id string, answer []byte, owner string, lease time.Duration) (bool, error) {
	if err := checkAcquire(owner, lease, 1); err != nil {
		return false, fmt.Errorf("store: answering pending link %s: %w", id, err)
	}
	if len(answer) == 0 {
		return false, fmt.Errorf("store: answering pending link %s: empty answer", id)
	}
	var a Args
	q := `UPDATE pending_links SET answer = ` + a.Add(answer) + `, owner = ` + a.Add(owner) +
		`, lease_until = ` + s.d.Later(&a, lease) + `
		WHERE id = ` + a.Add(id) + ` AND answer IS NULL`
	k, err := s.w.Exec(ctx, q, a.Values()...)
	if err != nil {
		return false, fmt.Errorf("store: answering pending link %s: %w", id, err)
	}
	return k > 0, nil
}

// DeletePendingLink deletes the pending link id; see store.Store.
func (s *Store) DeletePendingLink(ctx context.Context, id string) (bool, error) {
	k, err := s.w.Exec(ctx, `DELETE FROM pending_links WHERE id = $1`, id)
	if err != nil {
		return false, fmt.Errorf("store: deleting pending link %s: %w", id, err)
	}
	return k > 0, nil
}

// ExpiredPendingLinks returns at most cleanBatch expired, unanswered
// pending links that no process holds a lease on, by the dialect's
// clock; see store.Store. It only reads: AnswerPendingLink decides among
// callers that read the same links.
func (s *Store) ExpiredPendingLinks(ctx context.Context) ([]*store.PendingLink, error) {
	var a Args
	now, limit := s.d.Now(&a), a.Add(cleanBatch)
	rows, err := s.r.Query(ctx, `SELECT `+pendingColumns+` FROM pending_links
		WHERE expires_at <= `+now+` AND answer IS NULL
			AND (owner = '' OR lease_until IS NULL OR lease_until <= `+now+`)
		ORDER BY expires_at, identity
		LIMIT `+limit, a.Values()...)
	if err != nil {
		return nil, fmt.Errorf("store: reading expired pending links: %w", err)
	}
	defer rows.Close()
	var links []*store.PendingLink
	for rows.Next() {
		l, err := s.scanPending(rows)
		if err != nil {
			return nil, fmt.Errorf("store: reading expired pending links: %w", err)
		}
		links = append(links, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: reading expired pending links: %w", err)
	}
	return links, nil
}

// scanPending reads one row of pendingColumns.
func (s *Store) scanPending(row interface{ Scan(...any) error }) (*store.PendingLink, error) {
	var l store.PendingLink
	var interval int64
	if err := row.Scan(&l.ID, &l.Identity, &l.Platform, &l.ChannelID, &l.ThreadID, &l.Direct, &l.Handle,
		&l.DeviceCode, &interval, s.d.TimeDest(&l.ExpiresAt), s.d.TimeDest(&l.CreatedAt), &l.Owner,
		s.d.TimeDest(&l.LeaseUntil), &l.Answer); err != nil {
		return nil, err
	}
	if len(l.Answer) == 0 {
		l.Answer = nil // NULL: pending
	}
	l.Interval = time.Duration(interval) * time.Microsecond
	return &l, nil
}
