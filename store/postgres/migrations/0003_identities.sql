-- Linked identities (store.Store.SaveIdentity): a chat identity linked to
-- a GitLab user by the OAuth device flow. The tokens are ciphertext sealed
-- by the bot (store/seal).
CREATE TABLE identities (
	chat            text PRIMARY KEY,
	gitlab_user_id  bigint NOT NULL,
	gitlab_username text NOT NULL,
	access_token    bytea NOT NULL,
	refresh_token   bytea NOT NULL,
	expires_at      timestamptz,
	linked_at       timestamptz NOT NULL
);
