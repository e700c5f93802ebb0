package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Event claims and cursors.

// ClaimEvent claims key for ttl; see store.Store. The upsert takes over a
// claim only once it has expired, in one statement, so of concurrent
// callers exactly one inserts or takes over.
func (s *Store) ClaimEvent(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("store: claiming event %q: ttl %v is not positive", key, ttl)
	}
	t := time.Now()
	res, err := s.w.ExecContext(ctx, `INSERT INTO claims (key, expires_at) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
		WHERE claims.expires_at <= ?`, key, t.Add(ttl).UnixMicro(), t.UnixMicro())
	if err != nil {
		return false, fmt.Errorf("store: claiming event %q: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: claiming event %q: %w", key, err)
	}
	if s.claims.Add(1)%cleanEvery == 0 {
		// Opportunistic: a failure leaves the rows for the next round
		// and must not turn a successful claim into an error.
		_ = s.deleteExpiredClaims(ctx, t)
	}
	return n == 1, nil
}

// deleteExpiredClaims deletes at most cleanBatch claims expired by t.
func (s *Store) deleteExpiredClaims(ctx context.Context, t time.Time) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM claims WHERE key IN (
		SELECT key FROM claims WHERE expires_at <= ? LIMIT ?)`, t.UnixMicro(), cleanBatch)
	return err
}

// Cursor returns the value under key, "" when there is none.
func (s *Store) Cursor(ctx context.Context, key string) (string, error) {
	var v string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM cursors WHERE key = ?`, key).Scan(&v)
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
	_, err := s.w.ExecContext(ctx, `INSERT INTO cursors (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("store: setting cursor %q: %w", key, err)
	}
	return nil
}
