package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Event claims and cursors.

// ClaimEvent claims key for ttl; see store.Store. One upsert decides: it
// inserts the claim, or takes over one that has expired, or does nothing.
// Concurrent upserts of one key serialize on the row (SQLite runs one
// writer at a time; PostgreSQL, from any process, locks the row and
// re-checks the expiry as the previous upsert left it), so exactly one is
// told true.
func (s *Store) ClaimEvent(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("store: claiming event %q: ttl %v is not positive", key, ttl)
	}
	var a Args
	k, expires, now := a.Add(key), s.d.Later(&a, ttl), s.d.Now(&a)
	n, err := s.w.Exec(ctx, `INSERT INTO claims (key, expires_at) VALUES (`+k+`, `+expires+`)
		ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
		WHERE claims.expires_at <= `+now, a.Values()...)
	if err != nil {
		return false, fmt.Errorf("store: claiming event %q: %w", key, err)
	}
	if s.claims.Add(1)%cleanEvery == 0 {
		// Opportunistic: a failure leaves the rows for the next round
		// and must not turn a successful claim into an error.
		_ = s.deleteExpiredClaims(ctx)
	}
	return n == 1, nil
}

// deleteExpiredClaims deletes at most cleanBatch expired claims, skipping
// rows another process is deleting or claiming.
func (s *Store) deleteExpiredClaims(ctx context.Context) error {
	var a Args
	now, limit := s.d.Now(&a), a.Add(cleanBatch)
	_, err := s.w.Exec(ctx, `DELETE FROM claims WHERE key IN (
		SELECT key FROM claims WHERE expires_at <= `+now+` LIMIT `+limit+s.d.SkipLocked()+`)`, a.Values()...)
	return err
}

// Cursor returns the value under key, "" when there is none.
func (s *Store) Cursor(ctx context.Context, key string) (string, error) {
	var v string
	err := s.r.QueryRow(ctx, `SELECT value FROM cursors WHERE key = $1`, key).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("store: reading cursor %q: %w", key, err)
	}
	return v, nil
}

// SetCursor stores value under key.
func (s *Store) SetCursor(ctx context.Context, key, value string) error {
	_, err := s.w.Exec(ctx, `INSERT INTO cursors (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("store: setting cursor %q: %w", key, err)
	}
	return nil
}
