package postgres

import (
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/chatops-dev/chatops/store/internal/sqlstore"
)

// dialect is PostgreSQL's sqlstore.Dialect. Times are timestamptz, notes
// text[], and the clock deciding claims, leases and expiry is the
// database's now(), so replicas with skewed clocks agree.
type dialect struct{}

var _ sqlstore.Dialect = dialect{}

// Time is t itself: pgx encodes it as timestamptz.
func (dialect) Time(t time.Time) any { return t }

// TimeDest decodes a timestamptz with pgx's own scan plan (no
// database/sql detour).
func (dialect) TimeDest(t *time.Time) any { return timeDest{t} }

// timeDest scans a timestamptz: the zero time for NULL, else in UTC.
type timeDest struct{ t *time.Time }

// ScanTimestamptz implements pgtype.TimestamptzScanner.
func (d timeDest) ScanTimestamptz(v pgtype.Timestamptz) error {
	if !v.Valid {
		*d.t = time.Time{}
		return nil
	}
	*d.t = v.Time.UTC()
	return nil
}

// Notes is notes itself: pgx encodes a []string as text[].
func (dialect) Notes(notes []string) (any, error) { return notes, nil }

// NotesDest is notes itself: pgx decodes a text[] into a []string.
func (dialect) NotesDest(notes *[]string) any { return notes }

// Now is the database's clock.
func (dialect) Now(*sqlstore.Args) string { return "now()" }

// Later is the database's clock plus dur, to the microsecond.
func (dialect) Later(a *sqlstore.Args, dur time.Duration) string {
	return "(now() + " + a.Add(dur.Microseconds()) + "::bigint * interval '1 microsecond')"
}

// SkipLocked lets a replica pass over rows another one is changing
// instead of waiting for them; it gets them next round, if still there.
func (dialect) SkipLocked() string { return " FOR UPDATE SKIP LOCKED" }

// Acquire picks and leases in one statement, on the database's clock.
// FOR UPDATE makes concurrent callers, from any process, queue on each
// row and re-check it as the previous one left it, so a row taken
// meanwhile is no longer eligible. The picks stay CTEs rather than
// SQLite's "WHERE key IN (SELECT ... LIMIT ...)" with FOR UPDATE added:
// PostgreSQL evaluates a locking CTE exactly once, which it does not
// promise for a sub-select in WHERE (run again, say as the inner side of
// a nested loop, it could lease more than limit rows).
//
// The owner's own rows are picked first and apart, and without SKIP
// LOCKED: a row of its own is locked by its own save in flight (every
// progress edit and answer saves), and a renewal that skipped it would
// neither renew nor return it, which the watcher takes for a takeover.
// Waiting is short (a save is one statement) and no other owner's
// renewal ever waits on those rows. Free and lapsed rows of others fill
// what the limit leaves, with SKIP LOCKED, so replicas competing for them
// pass over the rows another one is taking. At its limit a process thus
// renews what it holds rather than drop it for older free rows.
func (d dialect) Acquire(a *sqlstore.Args, t sqlstore.Leased, owner string, lease time.Duration, limit int) string {
	o, until, n := a.Add(owner), d.Later(a, lease), a.Add(limit)
	return `WITH own AS (
			SELECT ` + t.Key + ` FROM ` + t.Table + `
			WHERE (` + t.Live + `) AND owner = ` + o + `
			ORDER BY ` + t.Order + `
			LIMIT ` + n + `
			FOR UPDATE
		), free AS (
			SELECT ` + t.Key + ` FROM ` + t.Table + `
			WHERE (` + t.Live + `) AND owner <> ` + o + ` AND (owner = '' OR lease_until IS NULL OR lease_until <= now())
			ORDER BY ` + t.Order + `
			LIMIT greatest(` + n + ` - (SELECT count(*) FROM own), 0)
			FOR UPDATE SKIP LOCKED
		), picked AS (
			SELECT ` + t.Key + ` FROM own UNION ALL SELECT ` + t.Key + ` FROM free
		), leased AS (
			UPDATE ` + t.Table + ` SET owner = ` + o + `, lease_until = ` + until + `
			FROM picked WHERE ` + t.Table + `.` + t.Key + ` = picked.` + t.Key + `
			RETURNING ` + t.Table + `.*
		)
		SELECT ` + t.Returning + ` FROM leased ORDER BY ` + t.Order
}

// AcquireRuns picks runs by id, the primary key.
func (d dialect) AcquireRuns(a *sqlstore.Args, owner string, lease time.Duration, limit int) string {
	return d.Acquire(a, sqlstore.Leased{Table: "runs", Key: "id", Live: "phase <> 'done'",
		Order: "created_at, seq", Returning: "seq, " + sqlstore.RunColumns}, owner, lease, limit)
}
