package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

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
	var a Args
	lapsed, limit := s.d.Now(&a), a.Add(cleanBatch)
	if _, err := s.w.Exec(ctx, `DELETE FROM confirmations WHERE code IN (
		SELECT code FROM confirmations WHERE expires_at <= `+lapsed+` LIMIT `+limit+s.d.SkipLocked()+`)`,
		a.Values()...); err != nil {
		return fmt.Errorf("store: deleting lapsed confirmations: %w", err)
	}
	k, err := s.w.Exec(ctx, `INSERT INTO confirmations (`+confirmColumns+`)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14) ON CONFLICT (code) DO NOTHING`,
		n.Code, n.Requester, n.UserID, n.Platform, n.ChannelID, n.ThreadID, n.Direct, n.Handle,
		n.Project, n.Job, n.Ref, n.Args, s.d.Time(n.CreatedAt), s.d.Time(n.ExpiresAt))
	if err != nil {
		return fmt.Errorf("store: creating confirmation %s: %w", c.Code, err)
	}
	if k == 0 {
		return fmt.Errorf("store: creating confirmation %s: %w", c.Code, store.ErrExists)
	}
	*c = n
	return nil
}

// TakeConfirmation consumes a confirmation; see store.Store. The DELETE
// decides who gets it: of concurrent ones, one deletes the row and the
// others find none. Expiry is judged by the dialect's clock.
func (s *Store) TakeConfirmation(ctx context.Context, code, identity string) (*store.Confirmation, error) {
	var c store.Confirmation
	var live bool
	var a Args
	cd, who, now := a.Add(code), a.Add(identity), s.d.Now(&a)
	err := s.w.QueryRow(ctx, `DELETE FROM confirmations WHERE code = `+cd+` AND requester = `+who+`
		RETURNING `+confirmColumns+`, expires_at > `+now, a.Values()...).Scan(&c.Code, &c.Requester, &c.UserID, &c.Platform,
		&c.ChannelID, &c.ThreadID, &c.Direct, &c.Handle, &c.Project, &c.Job, &c.Ref, &c.Args,
		s.d.TimeDest(&c.CreatedAt), s.d.TimeDest(&c.ExpiresAt), &live)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		var one int
		err := s.w.QueryRow(ctx, `SELECT 1 FROM confirmations WHERE code = $1`, code).Scan(&one)
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
	if !live {
		return nil, fmt.Errorf("store: taking confirmation %s: %w", code, store.ErrExpired)
	}
	return &c, nil
}
