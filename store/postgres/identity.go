package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/chatops-dev/chatops/store"
)

// SaveIdentity stores id, replacing the link stored for id.Chat.
func (s *Store) SaveIdentity(ctx context.Context, id *store.Identity) error {
	if id.Chat == "" {
		return errors.New("store: saving an identity: empty chat identity")
	}
	id.ExpiresAt, id.LinkedAt = store.StoredTime(id.ExpiresAt), store.StoredTime(id.LinkedAt)
	_, err := s.pool.Exec(ctx, `INSERT INTO identities
		(chat, gitlab_user_id, gitlab_username, access_token, refresh_token, expires_at, linked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (chat) DO UPDATE SET gitlab_user_id = EXCLUDED.gitlab_user_id,
			gitlab_username = EXCLUDED.gitlab_username, access_token = EXCLUDED.access_token,
			refresh_token = EXCLUDED.refresh_token, expires_at = EXCLUDED.expires_at,
			linked_at = EXCLUDED.linked_at`,
		id.Chat, id.GitLabUserID, id.GitLabUsername, nonNil(id.AccessToken), nonNil(id.RefreshToken),
		timestamptz(id.ExpiresAt), id.LinkedAt)
	if err != nil {
		return fmt.Errorf("store: saving the identity of %s: %w", id.Chat, err)
	}
	return nil
}

// GetIdentity returns the link of chat, or store.ErrNotFound.
func (s *Store) GetIdentity(ctx context.Context, chat string) (*store.Identity, error) {
	var (
		id              store.Identity
		expires, linked pgtype.Timestamptz
	)
	err := s.pool.QueryRow(ctx, `SELECT chat, gitlab_user_id, gitlab_username, access_token, refresh_token,
		expires_at, linked_at FROM identities WHERE chat = $1`, chat).
		Scan(&id.Chat, &id.GitLabUserID, &id.GitLabUsername, &id.AccessToken, &id.RefreshToken, &expires, &linked)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, fmt.Errorf("identity %s: %w", chat, store.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("store: reading the identity of %s: %w", chat, err)
	}
	id.ExpiresAt, id.LinkedAt = fromTimestamptz(expires), fromTimestamptz(linked)
	return &id, nil
}

// DeleteIdentity removes the link of chat, if any.
func (s *Store) DeleteIdentity(ctx context.Context, chat string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM identities WHERE chat = $1`, chat); err != nil {
		return fmt.Errorf("store: deleting the identity of %s: %w", chat, err)
	}
	return nil
}

// nonNil keeps an empty token a zero-length bytea rather than NULL, which
// the NOT NULL column refuses.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
