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
	"github.com/chatops-dev/chatops/store/internal/sqlstore"

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

// Store is a store.Store in one SQLite file. It is safe for concurrent use.
type Store struct {
	// Store runs the statements (shared with store/postgres), through w
	// and r.
	*sqlstore.Store
	path string
	// w has a single connection, so writes queue in Go instead of failing
	// with SQLITE_BUSY; its transactions begin IMMEDIATE for the same
	// reason. r has several read-only connections: in WAL mode readers
	// run alongside the writer.
	w, r *sql.DB
	lock *os.File
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
	// leases on its runs and pending links is gone, so they end now rather
	// than when they lapse. A restarted bot resumes them at once.
	for _, q := range []string{
		`UPDATE runs SET lease_until = NULL WHERE phase <> 'done' AND lease_until IS NOT NULL`,
		`UPDATE pending_links SET lease_until = NULL WHERE lease_until IS NOT NULL`,
	} {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("store: ending the leases of a previous process in %s: %w", s.path, err)
		}
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
	s.Store = sqlstore.New(sqlstore.OverSQL(s.w), sqlstore.OverSQL(s.r), dialect{})
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
			m.Version, time.Now().UnixMicro()); err != nil {
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
