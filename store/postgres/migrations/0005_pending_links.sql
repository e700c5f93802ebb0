-- Pending links (store.Store.CreatePendingLink): a `link` waiting for its
-- user's approval in GitLab, one per chat identity, leased like runs to
-- the replica polling GitLab for it, by the database's clock. The device
-- code is ciphertext sealed by the bot (store/seal); poll_interval is in
-- microseconds.
CREATE TABLE pending_links (
	identity      text        PRIMARY KEY,
	id            text        NOT NULL UNIQUE,
	platform      text        NOT NULL,
	channel_id    text        NOT NULL,
	thread_id     text        NOT NULL,
	direct        boolean     NOT NULL,
	handle        text        NOT NULL,
	device_code   bytea       NOT NULL,
	poll_interval bigint      NOT NULL,
	expires_at    timestamptz NOT NULL,
	created_at    timestamptz NOT NULL,
	owner         text        NOT NULL DEFAULT '',
	lease_until   timestamptz
);
-- Expiry cleanup and acquiring (which skips expired links).
CREATE INDEX pending_links_expiry ON pending_links (expires_at);
