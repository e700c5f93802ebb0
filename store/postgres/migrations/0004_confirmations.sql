-- Confirmations waiting for their requester (store.Store.TakeConfirmation):
-- a job with confirm = true is stored here until its requester confirms it
-- or it expires, by the database's clock.
CREATE TABLE confirmations (
	code       text        PRIMARY KEY,
	requester  text        NOT NULL,
	user_id    text        NOT NULL,
	platform   text        NOT NULL,
	channel_id text        NOT NULL,
	thread_id  text        NOT NULL,
	direct     boolean     NOT NULL,
	handle     text        NOT NULL,
	project    text        NOT NULL,
	job        text        NOT NULL,
	ref        text        NOT NULL,
	args       text        NOT NULL,
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL
);
CREATE INDEX confirmations_expiry ON confirmations (expires_at);
