package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

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
	if _, err := s.w.ExecContext(ctx, `DELETE FROM confirmations WHERE code IN (
		SELECT code FROM confirmations WHERE expires_at <= ? LIMIT ?)`, n.CreatedAt.UnixMicro(), cleanBatch); err != nil {
		return fmt.Errorf("store: deleting lapsed confirmations: %w", err)
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO confirmations (`+confirmColumns+`)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (code) DO NOTHING`,
		n.Code, n.Requester, n.UserID, n.Platform, n.ChannelID, n.ThreadID, n.Direct, n.Handle,
		n.Project, n.Job, n.Ref, n.Args, n.CreatedAt.UnixMicro(), n.ExpiresAt.UnixMicro())
	if err != nil {
		return fmt.Errorf("store: creating confirmation %s: %w", c.Code, err)
	}
	if k, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: creating confirmation %s: %w", c.Code, err)
	} else if k == 0 {
		return fmt.Errorf("store: creating confirmation %s: %w", c.Code, store.ErrExists)
	}
	*c = n
	return nil
}

// TakeConfirmation consumes a confirmation; see store.Store. The DELETE
// decides alone who gets it: SQLite runs one writer at a time.
func (s *Store) TakeConfirmation(ctx context.Context, code, identity string) (*store.Confirmation, error) {
	var c store.Confirmation
	var created, expires int64
	err := s.w.QueryRowContext(ctx, `DELETE FROM confirmations WHERE code = ? AND requester = ?
		RETURNING `+confirmColumns, code, identity).Scan(&c.Code, &c.Requester, &c.UserID, &c.Platform,
		&c.ChannelID, &c.ThreadID, &c.Direct, &c.Handle, &c.Project, &c.Job, &c.Ref, &c.Args, &created, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		var one int
		err := s.w.QueryRowContext(ctx, `SELECT 1 FROM confirmations WHERE code = ?`, code).Scan(&one)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return nil, fmt.Errorf("store: taking confirmation %s: %w", code, store.ErrNotFound)
		case err != nil:
			return nil, fmt.Errorf("store: taking confirmation %s: %w", code, err)
		}
		return nil, fmt.Errorf("store: taking confirmation %s: %w", code, store.ErrNotYours)
	case err != nil:
		return nil, fmt.Errorf("store: taking confirmation %s: %w", code, err)
	}
	c.CreatedAt, c.ExpiresAt = time.UnixMicro(created).UTC(), time.UnixMicro(expires).UTC()
	if !time.Now().Before(c.ExpiresAt) {
		return nil, fmt.Errorf("store: taking confirmation %s: %w", code, store.ErrExpired)
	}
	return &c, nil
}
