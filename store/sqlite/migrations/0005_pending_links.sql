-- Pending links (store.Store.CreatePendingLink): a `link` waiting for its
-- user's approval in GitLab, one per chat identity, leased like runs to
-- the process polling GitLab for it. The device code is ciphertext sealed
-- by the bot (store/seal). Times are INTEGER microseconds, as in runs;
-- poll_interval is microseconds too.
CREATE TABLE pending_links (
	identity      TEXT    PRIMARY KEY,
	id            TEXT    NOT NULL UNIQUE,
	platform      TEXT    NOT NULL,
	channel_id    TEXT    NOT NULL,
	thread_id     TEXT    NOT NULL,
	direct        INTEGER NOT NULL,
	handle        TEXT    NOT NULL,
	device_code   BLOB    NOT NULL,
	poll_interval INTEGER NOT NULL,
	expires_at    INTEGER NOT NULL,
	created_at    INTEGER NOT NULL,
	owner         TEXT    NOT NULL DEFAULT '',
	lease_until   INTEGER
) WITHOUT ROWID;
-- Expiry cleanup and acquiring (which skips expired links).
CREATE INDEX pending_links_expiry ON pending_links (expires_at);
