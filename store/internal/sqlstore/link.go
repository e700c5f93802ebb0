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
// scanPending and CreatePendingLink's INSERT.
const pendingColumns = `id, identity, platform, channel_id, thread_id, direct, handle,
	device_code, poll_interval, expires_at, created_at, owner, lease_until`

// CreatePendingLink stores a pending link; see store.Store. One statement
// decides between two concurrent creators for one identity (on any
// replica): the insert, or the replacement of an expired link, happens
// for one of them; the other changes no row and gets ErrExists.
func (s *Store) CreatePendingLink(ctx context.Context, l *store.PendingLink) error {
	if l.ID == "" || l.Identity == "" {
		return errors.New("store: creating a pending link: empty id or identity")
	}
	n := *l
	n.CreatedAt, n.ExpiresAt = now(), store.StoredTime(l.ExpiresAt)
	n.Interval = l.Interval.Truncate(store.TimePrecision)
	var a Args
	vals := []string{a.Add(n.ID), a.Add(n.Identity), a.Add(n.Platform), a.Add(n.ChannelID), a.Add(n.ThreadID),
		a.Add(n.Direct), a.Add(n.Handle), a.Add(nonNil(n.DeviceCode)), a.Add(n.Interval.Microseconds()),
		a.Add(s.d.Time(n.ExpiresAt)), a.Add(s.d.Time(n.CreatedAt)), a.Add(n.Owner), s.leaseSQL(&a, l.LeaseUntil)}
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
			created_at = excluded.created_at, owner = excluded.owner, lease_until = excluded.lease_until
		WHERE pending_links.expires_at <= `+s.d.Now(&a)+`
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

// GetPendingLink returns identity's unexpired pending link; see
// store.Store.
func (s *Store) GetPendingLink(ctx context.Context, identity string) (*store.PendingLink, error) {
	var a Args
	who, now := a.Add(identity), s.d.Now(&a)
	l, err := s.scanPending(s.r.QueryRow(ctx, `SELECT `+pendingColumns+` FROM pending_links
		WHERE identity = `+who+` AND expires_at > `+now, a.Values()...))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("pending link of %s: %w", identity, store.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("store: reading the pending link of %s: %w", identity, err)
	}
	return l, nil
}

// AcquirePendingLinks leases unexpired pending links to owner; see
// store.Store. The dialect's Acquire picks and leases them in one
// statement, as for runs.
func (s *Store) AcquirePendingLinks(ctx context.Context, owner string, lease time.Duration, limit int) ([]*store.PendingLink, error) {
	if err := checkAcquire(owner, lease, limit); err != nil {
		return nil, fmt.Errorf("store: acquiring pending links for %q: %w", owner, err)
	}
	var a Args
	live := "expires_at > " + s.d.Now(&a)
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

// DeletePendingLink deletes the pending link id; see store.Store. The
// DELETE decides which of several callers reports true.
func (s *Store) DeletePendingLink(ctx context.Context, id string) (bool, error) {
	k, err := s.w.Exec(ctx, `DELETE FROM pending_links WHERE id = $1`, id)
	if err != nil {
		return false, fmt.Errorf("store: deleting pending link %s: %w", id, err)
	}
	return k > 0, nil
}

// DeleteExpiredPendingLinks deletes at most cleanBatch expired pending
// links that no process holds a lease on, by the dialect's clock, and
// returns them; see store.Store.
func (s *Store) DeleteExpiredPendingLinks(ctx context.Context) ([]*store.PendingLink, error) {
	var a Args
	now, limit := s.d.Now(&a), a.Add(cleanBatch)
	rows, err := s.w.Query(ctx, `DELETE FROM pending_links WHERE identity IN (
		SELECT identity FROM pending_links WHERE expires_at <= `+now+`
			AND (owner = '' OR lease_until IS NULL OR lease_until <= `+now+`)
		LIMIT `+limit+s.d.SkipLocked()+`)
		RETURNING `+pendingColumns, a.Values()...)
	if err != nil {
		return nil, fmt.Errorf("store: deleting expired pending links: %w", err)
	}
	defer rows.Close()
	var links []*store.PendingLink
	for rows.Next() {
		l, err := s.scanPending(rows)
		if err != nil {
			return nil, fmt.Errorf("store: deleting expired pending links: %w", err)
		}
		links = append(links, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: deleting expired pending links: %w", err)
	}
	return links, nil
}

// scanPending reads one row of pendingColumns.
func (s *Store) scanPending(row interface{ Scan(...any) error }) (*store.PendingLink, error) {
	var l store.PendingLink
	var interval int64
	if err := row.Scan(&l.ID, &l.Identity, &l.Platform, &l.ChannelID, &l.ThreadID, &l.Direct, &l.Handle,
		&l.DeviceCode, &interval, s.d.TimeDest(&l.ExpiresAt), s.d.TimeDest(&l.CreatedAt), &l.Owner,
		s.d.TimeDest(&l.LeaseUntil)); err != nil {
		return nil, err
	}
	l.Interval = time.Duration(interval) * time.Microsecond
	return &l, nil
}
