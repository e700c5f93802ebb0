-- Runs, claims and cursors. Times are timestamptz (microseconds, UTC), NULL
-- for the zero time.
CREATE TABLE runs (
	-- seq orders runs created within one microsecond by creation.
	seq          bigint      GENERATED ALWAYS AS IDENTITY,
	id           text        PRIMARY KEY,
	kind         text        NOT NULL,
	platform     text        NOT NULL,
	channel_id   text        NOT NULL,
	thread_id    text        NOT NULL,
	direct       boolean     NOT NULL,
	handle       text        NOT NULL,
	reply_id     text        NOT NULL,
	requester    text        NOT NULL,
	user_id      text        NOT NULL,
	gitlab_user  text        NOT NULL,
	project      text        NOT NULL,
	project_id   bigint      NOT NULL,
	ref          text        NOT NULL,
	job          text        NOT NULL,
	args         text        NOT NULL,
	pipeline_id  bigint      NOT NULL,
	pipeline_url text        NOT NULL,
	job_id       bigint      NOT NULL,
	job_url      text        NOT NULL,
	status       text        NOT NULL,
	notes        text[],
	phase        text        NOT NULL,
	deadline     timestamptz,
	answer       bytea,
	attempts     bigint      NOT NULL,
	next_attempt timestamptz,
	created_at   timestamptz NOT NULL,
	updated_at   timestamptz NOT NULL,
	version      bigint      NOT NULL
);
-- OpenRuns at every start, ListRuns by conversation, by requester.
CREATE INDEX runs_open ON runs (created_at, seq) WHERE phase <> 'done';
CREATE INDEX runs_conversation ON runs (platform, channel_id, created_at, seq);
CREATE INDEX runs_requester ON runs (requester, created_at, seq);
CREATE INDEX runs_created ON runs (created_at, seq);

-- A claim counts until expires_at; the per-claim expiry lets claims with
-- different ttls share the table and its cleanup.
CREATE TABLE claims (
	key        text        PRIMARY KEY,
	expires_at timestamptz NOT NULL
);
CREATE INDEX claims_expires ON claims (expires_at);

CREATE TABLE cursors (
	key   text PRIMARY KEY,
	value text NOT NULL
);
