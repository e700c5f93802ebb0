// Package sqlite is the default store.Store: one database file next to the
// bot, with modernc.org/sqlite (pure Go, so the binary needs no cgo).
//
// The file belongs to one process. Open takes an exclusive lock on
// <path>.lock and refuses a second opener, in this or another process:
// two processes would each handle every chat event, since claims only
// de-duplicate within what one database sees and SQLite gives no safe
// cross-host sharing. Several replicas need the PostgreSQL store.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatops-dev/chatops/store"
	"github.com/chatops-dev/chatops/store/internal/migrate"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// ErrInUse matches (errors.Is) the *InUseError Open returns when another
// Store, in this or another process, has the database file open.
var ErrInUse = errors.New("store: database file in use")

// InUseError is Open's error for a database file another Store holds.
type InUseError struct {
	// Path is the database file as given to Open.
	Path string
	// PID is the holder's process id, 0 when unknown.
	PID int
}

// Error says who holds the file and points to PostgreSQL for replicas.
func (e *InUseError) Error() string {
	holder := "another chatops process"
	switch {
	case e.PID == os.Getpid():
		holder = fmt.Sprintf("this chatops process (pid %d), which opened it twice", e.PID)
	case e.PID > 0:
		holder = fmt.Sprintf("another chatops process (pid %d)", e.PID)
	}
	return fmt.Sprintf("store: %s is in use by %s; several processes need a shared PostgreSQL store: [store] url = \"postgres://...\"", e.Path, holder)
}

// Is makes errors.Is(err, ErrInUse) true.
func (e *InUseError) Is(target error) bool { return target == ErrInUse }

// Tuning of expired-claim cleanup: every cleanEvery claims, ClaimEvent
// deletes at most cleanBatch expired claims, so the table stays about as
// large as the claims within their ttl and no call does unbounded work.
const (
	cleanEvery = 100
	cleanBatch = 1000
)

// Store is a store.Store in one SQLite file. It is safe for concurrent use.
type Store struct {
	path string
	// w has a single connection, so writes queue in Go instead of failing
	// with SQLITE_BUSY; its transactions begin IMMEDIATE for the same
	// reason. r has several read-only connections: in WAL mode readers
	// run alongside the writer.
	w, r *sql.DB
	lock *os.File
	// claims counts ClaimEvent calls, to clean up every cleanEvery.
	claims atomic.Int64
	// migrated is how many migrations Open applied (for tests).
	migrated int
	closed   atomic.Bool

	// mu guards listeners, the Listen calls Notify delivers to, and done,
	// closed by Close to end them.
	mu        sync.Mutex
	listeners map[chan string]struct{}
	done      chan struct{}
}

var _ store.Store = (*Store)(nil)

// Open opens the database file at path, creating it and its directory
// when missing, and applies the schema migrations it lacks. It fails with
// ErrInUse while another Store has path open.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("store: opening SQLite: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: opening SQLite %s: %w", path, err)
	}
	// The driver reads everything after a '?' as connection parameters.
	if strings.ContainsRune(abs, '?') {
		return nil, fmt.Errorf("store: opening SQLite %s: the path must not contain '?'", path)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return nil, fmt.Errorf("store: creating the directory of %s: %w", path, err)
	}
	lock, err := lockFile(abs, path)
	if err != nil {
		return nil, err
	}
	s := &Store{path: abs, lock: lock, listeners: make(map[chan string]struct{}), done: make(chan struct{})}
	if err := s.open(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) open(ctx context.Context) error {
	// busy_timeout still matters: a WAL checkpoint or another connection
	// of this process can hold the lock for a moment. synchronous=NORMAL is
	// durable across process crashes in WAL mode, and loses at most the
	// last commits on power loss.
	const common = "_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)"
	var err error
	s.w, err = sql.Open("sqlite", s.path+"?_pragma=journal_mode(WAL)&_txlock=immediate&"+common)
	if err != nil {
		return fmt.Errorf("store: opening SQLite %s: %w", s.path, err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)
	// Opening the writer first sets WAL mode (persistent in the file) and
	// creates the file before a read-only connection looks at it.
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("store: opening SQLite %s: %w", s.path, err)
	}
	if err := s.migrate(ctx); err != nil {
		return err
	}
	// The file lock makes this process the file's only user: whoever held
	// leases on its runs is gone, so they end now rather than when they
	// lapse. A restarted bot resumes its runs at once.
	if _, err := s.w.ExecContext(ctx, `UPDATE runs SET lease_until = NULL WHERE phase <> 'done' AND lease_until IS NOT NULL`); err != nil {
		return fmt.Errorf("store: ending the leases of a previous process in %s: %w", s.path, err)
	}
	s.r, err = sql.Open("sqlite", s.path+"?_pragma=query_only(1)&"+common)
	if err != nil {
		return fmt.Errorf("store: opening SQLite %s for reading: %w", s.path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	s.r.SetMaxOpenConns(n)
	s.r.SetMaxIdleConns(n)
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("store: opening SQLite %s for reading: %w", s.path, err)
	}
	return nil
}

// migrate applies the embedded migrations the file lacks, all in one
// transaction: a failure leaves the schema as it was.
func (s *Store) migrate(ctx context.Context) error {
	known, err := migrate.Load(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: migrating %s: %w", s.path, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("store: creating schema_migrations in %s: %w", s.path, err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("store: reading schema_migrations in %s: %w", s.path, err)
	}
	var applied []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("store: reading schema_migrations in %s: %w", s.path, err)
		}
		applied = append(applied, v)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: reading schema_migrations in %s: %w", s.path, err)
	}
	todo, err := migrate.Pending(known, applied)
	if err != nil {
		return fmt.Errorf("%w (file %s)", err, s.path)
	}
	for _, m := range todo {
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("store: applying migration %s to %s: %w", m.Name, s.path, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
			m.Version, micros(time.Now())); err != nil {
			return fmt.Errorf("store: recording migration %s in %s: %w", m.Name, s.path, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: committing migrations to %s: %w", s.path, err)
	}
	s.migrated = len(todo)
	return nil
}

// Close closes the database and releases the file for another opener.
// Closing twice is harmless.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.mu.Lock()
	close(s.done) // ends every Listen
	s.mu.Unlock()
	var errs []error
	for _, db := range []*sql.DB{s.r, s.w} {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	// Released last: the next opener must find the file closed.
	if s.lock != nil {
		errs = append(errs, unlockFile(s.lock))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: closing %s: %w", s.path, err)
	}
	return nil
}

// Ping checks that the file can be read.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("store: pinging SQLite %s: %w", s.path, err)
	}
	var one int
	if err := s.r.QueryRowContext(ctx, `SELECT 1 FROM schema_migrations LIMIT 1`).Scan(&one); err != nil {
		return fmt.Errorf("store: pinging SQLite %s: %w", s.path, err)
	}
	return nil
}

// micros is t as stored: microseconds since the Unix epoch, or nil (NULL)
// for the zero time.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// fromMicros is the inverse of micros.
func fromMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64).UTC()
}

const runColumns = `id, kind, platform, channel_id, thread_id, direct, handle, reply_id,
	requester, user_id, gitlab_user, project, project_id, ref, job, args,
	pipeline_id, pipeline_url, job_id, job_url, status, notes, phase, deadline,
	answer, attempts, next_attempt, created_at, updated_at, version, owner, lease_until`

// runArgs are r's values in runColumns order.
func runArgs(r *store.Run) ([]any, error) {
	var notes any
	if len(r.Notes) > 0 {
		b, err := json.Marshal(r.Notes)
		if err != nil {
			return nil, fmt.Errorf("encoding notes: %w", err)
		}
		notes = string(b)
	}
	var answer any
	if len(r.Answer) > 0 {
		answer = r.Answer
	}
	return []any{
		r.ID, r.Kind, r.Platform, r.ChannelID, r.ThreadID, r.Direct, r.Handle, r.ReplyID,
		r.Requester, r.UserID, r.GitLabUser, r.Project, r.ProjectID, r.Ref, r.Job, r.Args,
		r.PipelineID, r.PipelineURL, r.JobID, r.JobURL, r.Status, notes, string(r.Phase), micros(r.Deadline),
		answer, r.Attempts, micros(r.NextAttempt), micros(r.CreatedAt), micros(r.UpdatedAt), r.Version,
		r.Owner, micros(r.LeaseUntil),
	}, nil
}

// scanRun reads one row of runColumns.
func scanRun(row interface{ Scan(...any) error }) (*store.Run, error) {
	var (
		r                                                       store.Run
		phase                                                   string
		notes                                                   sql.NullString
		deadline, nextAttempt, createdAt, updatedAt, leaseUntil sql.NullInt64
	)
	err := row.Scan(&r.ID, &r.Kind, &r.Platform, &r.ChannelID, &r.ThreadID, &r.Direct, &r.Handle, &r.ReplyID,
		&r.Requester, &r.UserID, &r.GitLabUser, &r.Project, &r.ProjectID, &r.Ref, &r.Job, &r.Args,
		&r.PipelineID, &r.PipelineURL, &r.JobID, &r.JobURL, &r.Status, &notes, &phase, &deadline,
		&r.Answer, &r.Attempts, &nextAttempt, &createdAt, &updatedAt, &r.Version,
		&r.Owner, &leaseUntil)
	if err != nil {
		return nil, err
	}
	if notes.Valid && notes.String != "" {
		if err := json.Unmarshal([]byte(notes.String), &r.Notes); err != nil {
			return nil, fmt.Errorf("decoding notes of run %s: %w", r.ID, err)
		}
	}
	if len(r.Notes) == 0 {
		r.Notes = nil
	}
	if len(r.Answer) == 0 {
		r.Answer = nil
	}
	r.Phase = store.Phase(phase)
	r.Deadline, r.NextAttempt = fromMicros(deadline), fromMicros(nextAttempt)
	r.CreatedAt, r.UpdatedAt = fromMicros(createdAt), fromMicros(updatedAt)
	r.LeaseUntil = fromMicros(leaseUntil)
	return &r, nil
}

// now is the time CreateRun and SaveRun record, at the stored precision.
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
	args, err := runArgs(&c)
	if err != nil {
		return fmt.Errorf("store: creating run %s: %w", r.ID, err)
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO runs (`+runColumns+`)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT (id) DO NOTHING`, args...)
	if err != nil {
		return fmt.Errorf("store: creating run %s: %w", r.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: creating run %s: %w", r.ID, err)
	} else if n == 0 {
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
	args, err := runArgs(&c)
	if err != nil {
		return fmt.Errorf("store: saving run %s: %w", r.ID, err)
	}
	// args[1:27] are kind..next_attempt, in runColumns order; created_at
	// (args[27]), owner and lease_until (args[30:]) stay as stored: only
	// AcquireRuns and ReleaseRuns move a lease, so a save from a copy read
	// before a renewal or a takeover cannot undo it.
	// RETURNING them: the caller gets the stored values, whatever it had
	// put there.
	var created, leaseUntil sql.NullInt64
	var owner string
	err = s.w.QueryRowContext(ctx, `UPDATE runs SET
		kind = ?, platform = ?, channel_id = ?, thread_id = ?, direct = ?, handle = ?, reply_id = ?,
		requester = ?, user_id = ?, gitlab_user = ?, project = ?, project_id = ?, ref = ?, job = ?, args = ?,
		pipeline_id = ?, pipeline_url = ?, job_id = ?, job_url = ?, status = ?, notes = ?, phase = ?, deadline = ?,
		answer = ?, attempts = ?, next_attempt = ?, updated_at = ?, version = ?
		WHERE id = ? AND version = ?
		RETURNING created_at, owner, lease_until`,
		append(append(args[1:27:27], args[28], args[29]), r.ID, r.Version)...).Scan(&created, &owner, &leaseUntil)
	if errors.Is(err, sql.ErrNoRows) {
		// Nothing updated: no such run, or another version. Runs are never
		// deleted, so the row cannot vanish between the update and this.
		var one int
		err := s.r.QueryRowContext(ctx, `SELECT 1 FROM runs WHERE id = ?`, r.ID).Scan(&one)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("store: saving run %s: %w", r.ID, store.ErrNotFound)
		case err != nil:
			return fmt.Errorf("store: saving run %s: %w", r.ID, err)
		}
		return fmt.Errorf("store: saving run %s at version %d: %w", r.ID, r.Version, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: saving run %s: %w", r.ID, err)
	}
	c.CreatedAt = fromMicros(created)
	c.Owner, c.LeaseUntil = owner, fromMicros(leaseUntil)
	*r = c
	return nil
}

// GetRun returns one run; see store.Store.
func (s *Store) GetRun(ctx context.Context, id string) (*store.Run, error) {
	r, err := scanRun(s.r.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id = ?`, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
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
	add := func(cond string, arg any) {
		where = append(where, cond)
		args = append(args, arg)
	}
	if f.Platform != "" {
		add("platform = ?", f.Platform)
	}
	if f.ChannelID != "" {
		add("channel_id = ?", f.ChannelID)
	}
	if f.Requester != "" {
		add("requester = ?", f.Requester)
	}
	q := `SELECT ` + runColumns + ` FROM runs`
	if f.OpenOnly {
		where = append(where, "phase <> 'done'")
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at DESC, seq DESC LIMIT ?"
	args = append(args, f.EffectiveLimit())
	runs, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: listing runs: %w", err)
	}
	return runs, nil
}

func (s *Store) query(ctx context.Context, q string, args ...any) ([]*store.Run, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var runs []*store.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	return runs, rows.Err()
}

// ClaimEvent claims key for ttl; see store.Store. The upsert takes over a
// claim only once it has expired, in one statement, so of concurrent
// callers exactly one inserts or takes over.
func (s *Store) ClaimEvent(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("store: claiming event %q: ttl %v is not positive", key, ttl)
	}
	t := time.Now()
	res, err := s.w.ExecContext(ctx, `INSERT INTO claims (key, expires_at) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
		WHERE claims.expires_at <= ?`, key, t.Add(ttl).UnixMicro(), t.UnixMicro())
	if err != nil {
		return false, fmt.Errorf("store: claiming event %q: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: claiming event %q: %w", key, err)
	}
	if s.claims.Add(1)%cleanEvery == 0 {
		// Opportunistic: a failure leaves the rows for the next round
		// and must not turn a successful claim into an error.
		_ = s.deleteExpiredClaims(ctx, t)
	}
	return n == 1, nil
}

// deleteExpiredClaims deletes at most cleanBatch claims expired by t.
func (s *Store) deleteExpiredClaims(ctx context.Context, t time.Time) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM claims WHERE key IN (
		SELECT key FROM claims WHERE expires_at <= ? LIMIT ?)`, t.UnixMicro(), cleanBatch)
	return err
}

// Cursor returns the value under key, "" when there is none.
func (s *Store) Cursor(ctx context.Context, key string) (string, error) {
	var v string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM cursors WHERE key = ?`, key).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("store: reading cursor %q: %w", key, err)
	}
	return v, nil
}

// SetCursor stores value under key.
func (s *Store) SetCursor(ctx context.Context, key, value string) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO cursors (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("store: setting cursor %q: %w", key, err)
	}
	return nil
}
