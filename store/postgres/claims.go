package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Event claims and cursors.

// ClaimEvent claims key for ttl; see store.Store. One upsert decides: it
// inserts the claim, or takes over one that has expired, or does nothing.
// Concurrent upserts of one key, from any process, serialize on the row,
// and each re-checks the expiry against the row as the previous one left
// it, so exactly one is told true.
func (s *Store) ClaimEvent(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("store: claiming event %q: ttl %v is not positive", key, ttl)
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO claims (key, expires_at)
		VALUES ($1, now() + $2::bigint * interval '1 microsecond')
		ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at
		WHERE claims.expires_at <= now()`, key, ttl.Microseconds())
	if err != nil {
		return false, fmt.Errorf("store: claiming event %q: %w", key, err)
	}
	if s.claims.Add(1)%cleanEvery == 0 {
		// Opportunistic: a failure leaves the rows for the next round
		// and must not turn a successful claim into an error.
		_ = s.deleteExpiredClaims(ctx)
	}
	return tag.RowsAffected() == 1, nil
}

// deleteExpiredClaims deletes at most cleanBatch expired claims, skipping
// rows another replica is deleting or claiming.
func (s *Store) deleteExpiredClaims(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM claims WHERE key IN (
		SELECT key FROM claims WHERE expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED)`, cleanBatch)
	return err
}

// Cursor returns the value under key, "" when there is none.
func (s *Store) Cursor(ctx context.Context, key string) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, `SELECT value FROM cursors WHERE key = $1`, key).Scan(&v)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("store: reading cursor %q: %w", key, err)
	}
	return v, nil
}

// SetCursor stores value under key.
func (s *Store) SetCursor(ctx context.Context, key, value string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO cursors (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, key, value)
	if err != nil {
		return fmt.Errorf("store: setting cursor %q: %w", key, err)
	}
	return nil
}
