package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/chatops-dev/chatops/store"
)

const confirmColumns = `code, requester, user_id, platform, channel_id, thread_id, direct, handle,
	project, job, ref, args, created_at, expires_at`

// CreateConfirmation stores a confirmation; see store.Store. Lapsed ones
// are deleted on the way (a few at a time), so the table stays small.
func (s *Store) CreateConfirmation(ctx context.Context, c *store.Confirmation) error {
	if c.Code == "" {
		return errors.New("store: creating a confirmation: empty code")
	}
	n := *c
	n.CreatedAt, n.ExpiresAt = now(), store.StoredTime(c.ExpiresAt)
	if _, err := s.pool.Exec(ctx, `DELETE FROM confirmations WHERE code IN (
		SELECT code FROM confirmations WHERE expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED)`, cleanBatch); err != nil {
		return fmt.Errorf("store: deleting lapsed confirmations: %w", err)
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO confirmations (`+confirmColumns+`)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14) ON CONFLICT (code) DO NOTHING`,
		n.Code, n.Requester, n.UserID, n.Platform, n.ChannelID, n.ThreadID, n.Direct, n.Handle,
		n.Project, n.Job, n.Ref, n.Args, n.CreatedAt, n.ExpiresAt)
	if err != nil {
		return fmt.Errorf("store: creating confirmation %s: %w", c.Code, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store: creating confirmation %s: %w", c.Code, store.ErrExists)
	}
	*c = n
	return nil
}

// TakeConfirmation consumes a confirmation; see store.Store. The DELETE
// decides who gets it: of concurrent ones, one deletes the row and the
// others find none. Expiry is judged by the database's clock.
func (s *Store) TakeConfirmation(ctx context.Context, code, identity string) (*store.Confirmation, error) {
	var c store.Confirmation
	var live bool
	err := s.pool.QueryRow(ctx, `DELETE FROM confirmations WHERE code = $1 AND requester = $2
		RETURNING `+confirmColumns+`, expires_at > now()`, code, identity).Scan(&c.Code, &c.Requester, &c.UserID, &c.Platform,
		&c.ChannelID, &c.ThreadID, &c.Direct, &c.Handle, &c.Project, &c.Job, &c.Ref, &c.Args, &c.CreatedAt, &c.ExpiresAt, &live)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		var one int
		err := s.pool.QueryRow(ctx, `SELECT 1 FROM confirmations WHERE code = $1`, code).Scan(&one)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return nil, fmt.Errorf("store: taking confirmation %s: %w", code, store.ErrNotFound)
		case err != nil:
			return nil, fmt.Errorf("store: taking confirmation %s: %w", code, err)
		}
		return nil, fmt.Errorf("store: taking confirmation %s: %w", code, store.ErrNotYours)
	case err != nil:
		return nil, fmt.Errorf("store: taking confirmation %s: %w", code, err)
	}
	c.CreatedAt, c.ExpiresAt = c.CreatedAt.UTC(), c.ExpiresAt.UTC()
	if !live {
		return nil, fmt.Errorf("store: taking confirmation %s: %w", code, store.ErrExpired)
	}
	return &c, nil
}
