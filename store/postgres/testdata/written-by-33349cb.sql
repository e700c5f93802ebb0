-- The upgrade fixture (store/storetest/upgrade.go: WriteFixture) as the
-- PostgreSQL store of commit 33349cb wrote it, before its statements were
-- shared with SQLite: pg_dump --schema=fixture --inserts --no-owner
-- --no-privileges --no-comments, without its SET lines, psql commands and
-- schema name, so that it loads into any schema (the connection's
-- search_path). Read by TestOpensADatabaseWrittenBefore.
CREATE TABLE claims (
    key text NOT NULL,
    expires_at timestamp with time zone NOT NULL
);
CREATE TABLE confirmations (
    code text NOT NULL,
    requester text NOT NULL,
    user_id text NOT NULL,
    platform text NOT NULL,
    channel_id text NOT NULL,
    thread_id text NOT NULL,
    direct boolean NOT NULL,
    handle text NOT NULL,
    project text NOT NULL,
    job text NOT NULL,
    ref text NOT NULL,
    args text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone NOT NULL
);
CREATE TABLE cursors (
    key text NOT NULL,
    value text NOT NULL
);
CREATE TABLE identities (
    chat text NOT NULL,
    gitlab_user_id bigint NOT NULL,
    gitlab_username text NOT NULL,
    access_token bytea NOT NULL,
    refresh_token bytea NOT NULL,
    expires_at timestamp with time zone,
    linked_at timestamp with time zone NOT NULL
);
CREATE TABLE runs (
    seq bigint NOT NULL,
    id text NOT NULL,
    kind text NOT NULL,
    platform text NOT NULL,
    channel_id text NOT NULL,
    thread_id text NOT NULL,
    direct boolean NOT NULL,
    handle text NOT NULL,
    reply_id text NOT NULL,
    requester text NOT NULL,
    user_id text NOT NULL,
    gitlab_user text NOT NULL,
    project text NOT NULL,
    project_id bigint NOT NULL,
    ref text NOT NULL,
    job text NOT NULL,
    args text NOT NULL,
    pipeline_id bigint NOT NULL,
    pipeline_url text NOT NULL,
    job_id bigint NOT NULL,
    job_url text NOT NULL,
    status text NOT NULL,
    notes text[],
    phase text NOT NULL,
    deadline timestamp with time zone,
    answer bytea,
    attempts bigint NOT NULL,
    next_attempt timestamp with time zone,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    version bigint NOT NULL,
    owner text DEFAULT ''::text NOT NULL,
    lease_until timestamp with time zone
);
ALTER TABLE runs ALTER COLUMN seq ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME runs_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);
CREATE TABLE schema_migrations (
    version integer NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL
);
INSERT INTO claims VALUES ('slack:Ev1', '2126-11-07 21:07:28.500663+00');
INSERT INTO confirmations VALUES ('K7Q2', 'slack:U1', 'U1', 'slack', 'C1', '1700000000.000100', false, 'h', 'ops/app', 'deploy', 'v1', 'production', '2026-12-01 21:07:28.502687+00', '2099-01-02 03:04:05.000006+00');
INSERT INTO cursors VALUES ('mattermost:since', '1700000000000');
INSERT INTO identities VALUES ('mattermost:u1', 5, 'alice', '\x000102fa', '\x7365616c65642072656672657368', '2026-11-30 11:15:42.123456+00', '2026-11-30 09:15:42.123456+00');
INSERT INTO runs OVERRIDING SYSTEM VALUE VALUES (1, 'run-full', 'run', 'slack', 'C1', '1700000000.000100', false, 'r1?u=https%3A%2F%2Fhooks.slack.com%2Fx', '1700000000.000200', 'slack:U1', 'U1', 'alice', 'ops/app', 42, 'main', 'deploy', 'production VERSION=1.2', 7, 'https://gitlab.example.com/ops/app/-/pipelines/7', 70, 'https://gitlab.example.com/ops/app/-/jobs/70', 'running', '{"Canceled from chat by bob.","naïve ünïcode ✓"}', 'following', '2026-11-30 10:15:42.123456+00', '\x7b227469746c65223a2278227d', 2, '2026-11-30 09:16:42.123456+00', '2026-12-01 21:07:28.497078+00', '2026-12-01 21:07:28.497078+00', 1, 'replica-a', '2099-01-02 03:04:05.000006+00');
INSERT INTO runs OVERRIDING SYSTEM VALUE VALUES (2, 'run-empty', 'run', 'shell', 'tty', '', false, '', '', 'shell:me', 'me', '', 'ops/app', 0, '', 'hello-world', '', 0, '', 0, '', '', NULL, 'creating', NULL, NULL, 0, NULL, '2026-12-01 21:07:28.499376+00', '2026-12-01 21:07:28.499376+00', 1, '', NULL);
INSERT INTO runs OVERRIDING SYSTEM VALUE VALUES (3, 'run-done', 'run', 'discord', 'D9', '', true, '', '', 'discord:9', '9', '', 'ops/app', 42, '', 'fail', '', 8, '', 0, '', 'failed', NULL, 'done', NULL, NULL, 0, NULL, '2026-12-01 21:07:28.499612+00', '2026-12-01 21:07:28.499612+00', 1, '', NULL);
INSERT INTO schema_migrations VALUES (1, '2026-12-01 21:07:28.471732+00');
INSERT INTO schema_migrations VALUES (2, '2026-12-01 21:07:28.471732+00');
INSERT INTO schema_migrations VALUES (3, '2026-12-01 21:07:28.471732+00');
INSERT INTO schema_migrations VALUES (4, '2026-12-01 21:07:28.471732+00');
SELECT pg_catalog.setval('runs_seq_seq', 3, true);
ALTER TABLE ONLY claims
    ADD CONSTRAINT claims_pkey PRIMARY KEY (key);
ALTER TABLE ONLY confirmations
    ADD CONSTRAINT confirmations_pkey PRIMARY KEY (code);
ALTER TABLE ONLY cursors
    ADD CONSTRAINT cursors_pkey PRIMARY KEY (key);
ALTER TABLE ONLY identities
    ADD CONSTRAINT identities_pkey PRIMARY KEY (chat);
ALTER TABLE ONLY runs
    ADD CONSTRAINT runs_pkey PRIMARY KEY (id);
ALTER TABLE ONLY schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);
CREATE INDEX claims_expires ON claims USING btree (expires_at);
CREATE INDEX confirmations_expiry ON confirmations USING btree (expires_at);
CREATE INDEX runs_conversation ON runs USING btree (platform, channel_id, created_at, seq);
CREATE INDEX runs_created ON runs USING btree (created_at, seq);
CREATE INDEX runs_open ON runs USING btree (created_at, seq, owner, lease_until) WHERE (phase <> 'done'::text);
CREATE INDEX runs_requester ON runs USING btree (requester, created_at, seq);
