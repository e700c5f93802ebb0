// Package postgres is the store.Store for several chatops replicas sharing
// one PostgreSQL database, with github.com/jackc/pgx/v5.
//
// Replicas may all receive one chat event; ClaimEvent lets exactly one of
// them handle it, decided by one atomic upsert on the database's clock (so
// skew between the replicas' clocks does not matter). Runs are guarded by
// their version as in every store, and leased (AcquireRuns), also on the
// database's clock, so each open run is followed by one replica; Notify
// and Listen (NOTIFY/LISTEN on chatops_events) let a replica that got a
// webhook wake the one holding the run.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chatops-dev/chatops/store"
	"github.com/chatops-dev/chatops/store/internal/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrateLockID is the pg_advisory_xact_lock key that serializes
// migrations, so replicas starting together apply each one once. Any
// fixed number works; this one spells "chatops".
const migrateLockID int64 = 0x63686174_6f7073

// Tuning of expired-claim cleanup: every cleanEvery claims, ClaimEvent
// deletes at most cleanBatch expired claims, so the table stays about as
// large as the claims within their ttl and no call does unbounded work.
// Every replica cleans; SKIP LOCKED keeps them out of each other's way.
const (
	cleanEvery = 100
	cleanBatch = 1000
)

// Store is a store.Store in a PostgreSQL database. It is safe for
// concurrent use, and several Stores, in several processes, may share one
// database.
type Store struct {
	pool *pgxpool.Pool
	// where names the database in errors without the URL's password.
	where string
	// claims counts ClaimEvent calls, to clean up every cleanEvery.
	claims atomic.Int64
	// migrated is how many migrations Open applied (for tests).
	migrated int
	// done is closed by Close, to end every Listen.
	done      chan struct{}
	closeOnce sync.Once
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url (postgres://user:pass@host/db?...,
// or any form pgx accepts, including its pool_* settings) and applies the
// schema migrations it lacks.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx redacts the password from its parse errors (best effort;
		// it cannot always tell a mangled url's password).
		return nil, fmt.Errorf("store: parsing the PostgreSQL url: %w", err)
	}
	s := &Store{done: make(chan struct{}), where: fmt.Sprintf("PostgreSQL database %q on %s:%d", cfg.ConnConfig.Database, cfg.ConnConfig.Host, cfg.ConnConfig.Port)}
	s.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: connecting to %s: %w", s.where, err)
	}
	if err := s.pool.Ping(ctx); err != nil {
		s.pool.Close()
		return nil, fmt.Errorf("store: connecting to %s: %w", s.where, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.pool.Close()
		return nil, err
	}
	return s, nil
}

// migrate applies the embedded migrations the database lacks, in one
// transaction holding an advisory lock: a replica starting at the same
// time waits, then finds nothing left to do.
func (s *Store) migrate(ctx context.Context) error {
	known, err := migrate.Load(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("store: migrating %s: %w", s.where, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLockID); err != nil {
		return fmt.Errorf("store: locking %s for migrations: %w", s.where, err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer     PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return fmt.Errorf("store: creating schema_migrations in %s: %w", s.where, err)
	}
	rows, _ := tx.Query(ctx, `SELECT version FROM schema_migrations`)
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return fmt.Errorf("store: reading schema_migrations in %s: %w", s.where, err)
	}
	todo, err := migrate.Pending(known, applied)
	if err != nil {
		return fmt.Errorf("%w (%s)", err, s.where)
	}
	for _, m := range todo {
		// Without arguments pgx uses the simple protocol, which runs a
		// file of several statements.
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return fmt.Errorf("store: applying migration %s to %s: %w", m.Name, s.where, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, m.Version); err != nil {
			return fmt.Errorf("store: recording migration %s in %s: %w", m.Name, s.where, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("store: committing migrations to %s: %w", s.where, err)
	}
	s.migrated = len(todo)
	return nil
}

// Close closes the connections and ends every Listen.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.done) })
	s.pool.Close()
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("store: pinging %s: %w", s.where, err)
	}
	return nil
}

// timestamptz is t as stored: nil (NULL) for the zero time.
func timestamptz(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// fromTimestamptz is the inverse of timestamptz, in UTC.
func fromTimestamptz(t pgtype.Timestamptz) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

const runColumns = `id, kind, platform, channel_id, thread_id, direct, handle, reply_id,
	requester, user_id, gitlab_user, project, project_id, ref, job, args,
	pipeline_id, pipeline_url, job_id, job_url, status, notes, phase, deadline,
	answer, attempts, next_attempt, created_at, updated_at, version, owner, lease_until`

// scanRun reads one row of runColumns.
func scanRun(row pgx.Row) (*store.Run, error) {
	var (
		r                                                       store.Run
		phase                                                   string
		deadline, nextAttempt, createdAt, updatedAt, leaseUntil pgtype.Timestamptz
	)
	err := row.Scan(&r.ID, &r.Kind, &r.Platform, &r.ChannelID, &r.ThreadID, &r.Direct, &r.Handle, &r.ReplyID,
		&r.Requester, &r.UserID, &r.GitLabUser, &r.Project, &r.ProjectID, &r.Ref, &r.Job, &r.Args,
		&r.PipelineID, &r.PipelineURL, &r.JobID, &r.JobURL, &r.Status, &r.Notes, &phase, &deadline,
		&r.Answer, &r.Attempts, &nextAttempt, &createdAt, &updatedAt, &r.Version,
		&r.Owner, &leaseUntil)
	if err != nil {
		return nil, err
	}
	if len(r.Notes) == 0 {
		r.Notes = nil
	}
	if len(r.Answer) == 0 {
		r.Answer = nil
	}
	r.Phase = store.Phase(phase)
	r.Deadline, r.NextAttempt = fromTimestamptz(deadline), fromTimestamptz(nextAttempt)
	r.CreatedAt, r.UpdatedAt = fromTimestamptz(createdAt), fromTimestamptz(updatedAt)
	r.LeaseUntil = fromTimestamptz(leaseUntil)
	return &r, nil
}

// nilIfEmpty stores an empty slice as NULL, as the zero value.
func nilIfEmpty[T any](s []T) any {
	if len(s) == 0 {
		return nil
	}
	return s
}

// now is the time CreateRun and SaveRun record, at the stored precision.
// It is this process's clock, as in the SQLite store; claims, where
// replicas must agree, use the database's.
func now() time.Time { return store.StoredTime(time.Now()) }

// CreateRun stores a new run; see store.Store.
func (s *Store) CreateRun(ctx context.Context, r *store.Run) error {
	if r.ID == "" {
		return errors.New("store: creating a run: empty id")
	}
	c := *r
	c.Deadline, c.NextAttempt = store.StoredTime(r.Deadline), store.StoredTime(r.NextAttempt)
	c.LeaseUntil = store.StoredTime(r.LeaseUntil)
	c.CreatedAt = now()
	c.UpdatedAt = c.CreatedAt
	c.Version = 1
	tag, err := s.pool.Exec(ctx, `INSERT INTO runs (`+runColumns+`)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27,$28,$29,$30,$31,$32)
		ON CONFLICT (id) DO NOTHING`,
		c.ID, c.Kind, c.Platform, c.ChannelID, c.ThreadID, c.Direct, c.Handle, c.ReplyID,
		c.Requester, c.UserID, c.GitLabUser, c.Project, c.ProjectID, c.Ref, c.Job, c.Args,
		c.PipelineID, c.PipelineURL, c.JobID, c.JobURL, c.Status, nilIfEmpty(c.Notes), string(c.Phase), timestamptz(c.Deadline),
		nilIfEmpty(c.Answer), c.Attempts, timestamptz(c.NextAttempt), c.CreatedAt, c.UpdatedAt, c.Version,
		c.Owner, timestamptz(c.LeaseUntil))
	if err != nil {
		return fmt.Errorf("store: creating run %s: %w", r.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store: creating run %s: %w", r.ID, store.ErrExists)
	}
	*r = c
	return nil
}

// SaveRun stores every field of an existing run; see store.Store.
func (s *Store) SaveRun(ctx context.Context, r *store.Run) error {
	c := *r
	c.Deadline, c.NextAttempt = store.StoredTime(r.Deadline), store.StoredTime(r.NextAttempt)
	c.UpdatedAt = now()
	c.Version = r.Version + 1
	// created_at, owner and lease_until stay as stored: only AcquireRuns
	// and ReleaseRuns move a lease, so a save from a copy read before a
	// renewal or a takeover cannot undo it. RETURNING them: the caller
	// gets the stored values, whatever it had put there.
	var created, leaseUntil pgtype.Timestamptz
	var owner string
	err := s.pool.QueryRow(ctx, `UPDATE runs SET
		kind = $2, platform = $3, channel_id = $4, thread_id = $5, direct = $6, handle = $7, reply_id = $8,
		requester = $9, user_id = $10, gitlab_user = $11, project = $12, project_id = $13, ref = $14, job = $15, args = $16,
		pipeline_id = $17, pipeline_url = $18, job_id = $19, job_url = $20, status = $21, notes = $22, phase = $23, deadline = $24,
		answer = $25, attempts = $26, next_attempt = $27, updated_at = $28, version = $29
		WHERE id = $1 AND version = $30
		RETURNING created_at, owner, lease_until`,
		c.ID, c.Kind, c.Platform, c.ChannelID, c.ThreadID, c.Direct, c.Handle, c.ReplyID,
		c.Requester, c.UserID, c.GitLabUser, c.Project, c.ProjectID, c.Ref, c.Job, c.Args,
		c.PipelineID, c.PipelineURL, c.JobID, c.JobURL, c.Status, nilIfEmpty(c.Notes), string(c.Phase), timestamptz(c.Deadline),
		nilIfEmpty(c.Answer), c.Attempts, timestamptz(c.NextAttempt), c.UpdatedAt, c.Version, r.Version).Scan(&created, &owner, &leaseUntil)
	if errors.Is(err, pgx.ErrNoRows) {
		// Nothing updated: no such run, or another version. Runs are never
		// deleted, so the row cannot vanish between the update and this.
		var exists bool
		if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM runs WHERE id = $1)`, r.ID).Scan(&exists); err != nil {
			return fmt.Errorf("store: saving run %s: %w", r.ID, err)
		}
		if !exists {
			return fmt.Errorf("store: saving run %s: %w", r.ID, store.ErrNotFound)
		}
		return fmt.Errorf("store: saving run %s at version %d: %w", r.ID, r.Version, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: saving run %s: %w", r.ID, err)
	}
	c.CreatedAt = fromTimestamptz(created)
	c.Owner, c.LeaseUntil = owner, fromTimestamptz(leaseUntil)
	*r = c
	return nil
}

// GetRun returns one run; see store.Store.
func (s *Store) GetRun(ctx context.Context, id string) (*store.Run, error) {
	r, err := scanRun(s.pool.QueryRow(ctx, `SELECT `+runColumns+` FROM runs WHERE id = $1`, id))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, fmt.Errorf("store: reading run %s: %w", id, store.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("store: reading run %s: %w", id, err)
	}
	return r, nil
}

// OpenRuns returns the runs not done, oldest first; see store.Store.
func (s *Store) OpenRuns(ctx context.Context) ([]*store.Run, error) {
	runs, err := s.query(ctx, `SELECT `+runColumns+` FROM runs WHERE phase <> 'done' ORDER BY created_at, seq`)
	if err != nil {
		return nil, fmt.Errorf("store: listing open runs: %w", err)
	}
	return runs, nil
}

// ListRuns returns runs matching f, newest first; see store.Store.
func (s *Store) ListRuns(ctx context.Context, f store.RunFilter) ([]*store.Run, error) {
	var where []string
	var args []any
	add := func(column string, arg any) {
		args = append(args, arg)
		where = append(where, fmt.Sprintf("%s = $%d", column, len(args)))
	}
	if f.Platform != "" {
		add("platform", f.Platform)
	}
	if f.ChannelID != "" {
		add("channel_id", f.ChannelID)
	}
	if f.Requester != "" {
		add("requester", f.Requester)
	}
	if f.OpenOnly {
		where = append(where, "phase <> 'done'")
	}
	q := `SELECT ` + runColumns + ` FROM runs`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, f.EffectiveLimit())
	q += fmt.Sprintf(" ORDER BY created_at DESC, seq DESC LIMIT $%d", len(args))
	runs, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: listing runs: %w", err)
	}
	return runs, nil
}

func (s *Store) query(ctx context.Context, q string, args ...any) ([]*store.Run, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*store.Run, error) { return scanRun(row) })
}

// ClaimEvent claims key for ttl; see store.Store. One upsert decides: it
// inserts the claim, or takes over one that has expired, or does nothing.
// Concurrent upserts of one key, from any process, serialize on the row,
// and each re-checks the expiry against the row as the previous one left
// it, so exactly one is told true.
func (s *Store) ClaimEvent(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("store: claiming event %q: ttl %v is not positive", key, ttl)
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO claims (key, expires_at)
		VALUES ($1, now() + $2::bigint * interval '1 microsecond')
		ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at
		WHERE claims.expires_at <= now()`, key, ttl.Microseconds())
	if err != nil {
		return false, fmt.Errorf("store: claiming event %q: %w", key, err)
	}
	if s.claims.Add(1)%cleanEvery == 0 {
		// Opportunistic: a failure leaves the rows for the next round
		// and must not turn a successful claim into an error.
		_ = s.deleteExpiredClaims(ctx)
	}
	return tag.RowsAffected() == 1, nil
}

// deleteExpiredClaims deletes at most cleanBatch expired claims, skipping
// rows another replica is deleting or claiming.
func (s *Store) deleteExpiredClaims(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM claims WHERE key IN (
		SELECT key FROM claims WHERE expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED)`, cleanBatch)
	return err
}

// Cursor returns the value under key, "" when there is none.
func (s *Store) Cursor(ctx context.Context, key string) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, `SELECT value FROM cursors WHERE key = $1`, key).Scan(&v)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("store: reading cursor %q: %w", key, err)
	}
	return v, nil
}

// SetCursor stores value under key.
func (s *Store) SetCursor(ctx context.Context, key, value string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO cursors (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, key, value)
	if err != nil {
		return fmt.Errorf("store: setting cursor %q: %w", key, err)
	}
	return nil
}
