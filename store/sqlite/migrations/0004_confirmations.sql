-- Confirmations waiting for their requester (store.Store.TakeConfirmation):
-- a job with confirm = true is stored here until its requester confirms it
-- or it expires. Times are INTEGER microseconds, as in runs.
CREATE TABLE confirmations (
	code       TEXT    PRIMARY KEY,
	requester  TEXT    NOT NULL,
	user_id    TEXT    NOT NULL,
	platform   TEXT    NOT NULL,
	channel_id TEXT    NOT NULL,
	thread_id  TEXT    NOT NULL,
	direct     INTEGER NOT NULL,
	handle     TEXT    NOT NULL,
	project    TEXT    NOT NULL,
	job        TEXT    NOT NULL,
	ref        TEXT    NOT NULL,
	args       TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE INDEX confirmations_expiry ON confirmations (expires_at);
