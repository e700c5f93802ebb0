-- Linked identities (store.Store.SaveIdentity): a chat identity linked to
-- a GitLab user by the OAuth device flow. The tokens are ciphertext sealed
-- by the bot (store/seal); times are microseconds since the epoch.
CREATE TABLE identities (
	chat            TEXT PRIMARY KEY,
	gitlab_user_id  INTEGER NOT NULL,
	gitlab_username TEXT NOT NULL,
	access_token    BLOB NOT NULL,
	refresh_token   BLOB NOT NULL,
	expires_at      INTEGER,
	linked_at       INTEGER NOT NULL
);
