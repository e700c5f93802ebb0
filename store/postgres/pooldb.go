package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chatops-dev/chatops/store/internal/sqlstore"
)

// poolDB runs the shared statements (sqlstore) on the pool, with pgx's
// native protocol: through pgx's database/sql layer the calls the watcher
// makes were measurably slower. pgx.ErrNoRows matches sql.ErrNoRows, as
// sqlstore.Row asks.
type poolDB struct{ pool *pgxpool.Pool }

var _ sqlstore.DB = poolDB{}

// Exec runs q and returns how many rows it changed.
func (p poolDB) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := p.pool.Exec(ctx, q, args...)
	return tag.RowsAffected(), err
}

// Query runs q and returns its rows.
func (p poolDB) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	rows, err := p.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// QueryRow runs q for at most one row.
func (p poolDB) QueryRow(ctx context.Context, q string, args ...any) sqlstore.Row {
	return p.pool.QueryRow(ctx, q, args...)
}

var _ sqlstore.Rows = pgx.Rows(nil)
