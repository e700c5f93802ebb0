package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/chatops-dev/chatops/store"
)

// SaveIdentity stores id, replacing the link stored for id.Chat.
func (s *Store) SaveIdentity(ctx context.Context, id *store.Identity) error {
	if id.Chat == "" {
		return errors.New("store: saving an identity: empty chat identity")
	}
	id.ExpiresAt, id.LinkedAt = store.StoredTime(id.ExpiresAt), store.StoredTime(id.LinkedAt)
	_, err := s.w.Exec(ctx, `INSERT INTO identities
		(chat, gitlab_user_id, gitlab_username, access_token, refresh_token, expires_at, linked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (chat) DO UPDATE SET gitlab_user_id = excluded.gitlab_user_id,
			gitlab_username = excluded.gitlab_username, access_token = excluded.access_token,
			refresh_token = excluded.refresh_token, expires_at = excluded.expires_at,
			linked_at = excluded.linked_at`,
		id.Chat, id.GitLabUserID, id.GitLabUsername, nonNil(id.AccessToken), nonNil(id.RefreshToken),
		s.nullTime(id.ExpiresAt), s.d.Time(id.LinkedAt))
	if err != nil {
		return fmt.Errorf("store: saving the identity of %s: %w", id.Chat, err)
	}
	return nil
}

// GetIdentity returns the link of chat, or store.ErrNotFound.
func (s *Store) GetIdentity(ctx context.Context, chat string) (*store.Identity, error) {
	var id store.Identity
	err := s.r.QueryRow(ctx, `SELECT chat, gitlab_user_id, gitlab_username, access_token, refresh_token,
		expires_at, linked_at FROM identities WHERE chat = $1`, chat).
		Scan(&id.Chat, &id.GitLabUserID, &id.GitLabUsername, &id.AccessToken, &id.RefreshToken,
			s.d.TimeDest(&id.ExpiresAt), s.d.TimeDest(&id.LinkedAt))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("identity %s: %w", chat, store.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("store: reading the identity of %s: %w", chat, err)
	}
	return &id, nil
}

// DeleteIdentity removes the link of chat, if any.
func (s *Store) DeleteIdentity(ctx context.Context, chat string) error {
	if _, err := s.w.Exec(ctx, `DELETE FROM identities WHERE chat = $1`, chat); err != nil {
		return fmt.Errorf("store: deleting the identity of %s: %w", chat, err)
	}
	return nil
}

// SaveIdentityIf stores id over the link of id.Chat only if that link
// still holds the sealed refresh token refresh, reporting whether it did.
// The check and the write are one statement, so a link deleted (unlink)
// or replaced (a relink, another replica's refresh) since refresh was read
// is never written back.
func (s *Store) SaveIdentityIf(ctx context.Context, id *store.Identity, refresh []byte) (bool, error) {
	if id.Chat == "" {
		return false, errors.New("store: saving an identity: empty chat identity")
	}
	id.ExpiresAt, id.LinkedAt = store.StoredTime(id.ExpiresAt), store.StoredTime(id.LinkedAt)
	n, err := s.w.Exec(ctx, `UPDATE identities SET gitlab_user_id = $2, gitlab_username = $3,
		access_token = $4, refresh_token = $5, expires_at = $6, linked_at = $7
		WHERE chat = $1 AND refresh_token = $8`,
		id.Chat, id.GitLabUserID, id.GitLabUsername, nonNil(id.AccessToken), nonNil(id.RefreshToken),
		s.nullTime(id.ExpiresAt), s.d.Time(id.LinkedAt), nonNil(refresh))
	if err != nil {
		return false, fmt.Errorf("store: saving the identity of %s: %w", id.Chat, err)
	}
	return n > 0, nil
}

// DeleteIdentityIf removes the link of chat only if it still holds the
// sealed refresh token refresh, reporting whether it did: a link another
// process refreshed or relinked since refresh was read is kept.
func (s *Store) DeleteIdentityIf(ctx context.Context, chat string, refresh []byte) (bool, error) {
	n, err := s.w.Exec(ctx, `DELETE FROM identities WHERE chat = $1 AND refresh_token = $2`, chat, nonNil(refresh))
	if err != nil {
		return false, fmt.Errorf("store: deleting the identity of %s: %w", chat, err)
	}
	return n > 0, nil
}
