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
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chatops-dev/chatops/store"
	"github.com/chatops-dev/chatops/store/internal/migrate"
	"github.com/chatops-dev/chatops/store/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrateLockID is the pg_advisory_xact_lock key that serializes
// migrations, so replicas starting together apply each one once. Any
// fixed number works; this one spells "chatops".
const migrateLockID int64 = 0x63686174_6f7073

// Store is a store.Store in a PostgreSQL database. It is safe for
// concurrent use, and several Stores, in several processes, may share one
// database.
type Store struct {
	// Store runs the statements (shared with store/sqlite) through pool.
	*sqlstore.Store
	// pool also serves migrations and Notify, and configures Listen's
	// connections.
	pool *pgxpool.Pool
	// where names the database in errors without the URL's password.
	where string
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
	s.Store = sqlstore.New(poolDB{s.pool}, poolDB{s.pool}, dialect{})
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
