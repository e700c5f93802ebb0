package sqlstore

import (
	"context"
	"database/sql"
)

// DB is what Store needs of a database handle: the three calls every Go
// database layer has. store/sqlite passes database/sql (OverSQL);
// store/postgres its pgx pool, so PostgreSQL keeps pgx's native path:
// through pgx's database/sql layer (stdlib.OpenDBFromPool) ClaimEvent and
// GetRun took about 20-30% longer in the store benchmarks on loopback,
// with the same round trips but several times the goroutine wake-ups per
// call (database/sql's context watcher, a driver connection wrapped and
// unwrapped around every pool acquire).
//
// Query and QueryRow report no rows with an error matching sql.ErrNoRows
// (pgx.ErrNoRows does).
type DB interface {
	// Exec runs q and returns how many rows it changed.
	Exec(ctx context.Context, q string, args ...any) (int64, error)
	// Query runs q and returns its rows; the caller closes them.
	Query(ctx context.Context, q string, args ...any) (Rows, error)
	// QueryRow runs q for at most one row, reported by Scan.
	QueryRow(ctx context.Context, q string, args ...any) Row
}

// Rows are the rows of a Query.
type Rows interface {
	// Next advances to the next row, false after the last or on error.
	Next() bool
	// Scan reads the current row into dest.
	Scan(dest ...any) error
	// Err is the error that ended Next, if any.
	Err() error
	// Close releases the rows; calling it twice is harmless.
	Close()
}

// Row is the result of QueryRow.
type Row interface {
	// Scan reads the row into dest, or returns an error matching
	// sql.ErrNoRows when there was none.
	Scan(dest ...any) error
}

// OverSQL is db as a DB.
func OverSQL(db *sql.DB) DB { return sqlDB{db} }

type sqlDB struct{ db *sql.DB }

func (s sqlDB) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := s.db.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (s sqlDB) Query(ctx context.Context, q string, args ...any) (Rows, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

func (s sqlDB) QueryRow(ctx context.Context, q string, args ...any) Row {
	return s.db.QueryRowContext(ctx, q, args...)
}

// sqlRows drops Close's error: Err reports what went wrong while reading.
type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }
