-- Runs, claims and cursors. Times are INTEGER microseconds since the Unix
-- epoch, UTC (store.TimePrecision), NULL for the zero time: integers sort
-- and compare correctly, which RFC 3339 text with trimmed fractions does not.
CREATE TABLE runs (
	-- seq orders runs created within one microsecond by creation.
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	id           TEXT    NOT NULL UNIQUE,
	kind         TEXT    NOT NULL,
	platform     TEXT    NOT NULL,
	channel_id   TEXT    NOT NULL,
	thread_id    TEXT    NOT NULL,
	direct       INTEGER NOT NULL,
	handle       TEXT    NOT NULL,
	reply_id     TEXT    NOT NULL,
	requester    TEXT    NOT NULL,
	user_id      TEXT    NOT NULL,
	gitlab_user  TEXT    NOT NULL,
	project      TEXT    NOT NULL,
	project_id   INTEGER NOT NULL,
	ref          TEXT    NOT NULL,
	job          TEXT    NOT NULL,
	args         TEXT    NOT NULL,
	pipeline_id  INTEGER NOT NULL,
	pipeline_url TEXT    NOT NULL,
	job_id       INTEGER NOT NULL,
	job_url      TEXT    NOT NULL,
	status       TEXT    NOT NULL,
	-- notes is a JSON array of strings, NULL when there are none.
	notes        TEXT,
	phase        TEXT    NOT NULL,
	deadline     INTEGER,
	answer       BLOB,
	attempts     INTEGER NOT NULL,
	next_attempt INTEGER,
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL,
	version      INTEGER NOT NULL
);
-- OpenRuns at every start, ListRuns by conversation, by requester.
CREATE INDEX runs_open ON runs (created_at, seq) WHERE phase <> 'done';
CREATE INDEX runs_conversation ON runs (platform, channel_id, created_at, seq);
CREATE INDEX runs_requester ON runs (requester, created_at, seq);
CREATE INDEX runs_created ON runs (created_at, seq);

-- A claim counts until expires_at (microseconds); the per-claim expiry
-- lets claims with different ttls share the table and its cleanup.
CREATE TABLE claims (
	key        TEXT    PRIMARY KEY,
	expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX claims_expires ON claims (expires_at);

CREATE TABLE cursors (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) WITHOUT ROWID;
