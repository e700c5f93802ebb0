package postgres

import (
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/chatops-dev/chatops/store/internal/sqlstore"
)

// dialect is PostgreSQL's sqlstore.Dialect. Times are timestamptz, notes
// text[], and the clock deciding claims, leases and expiry is the
// database's now(), so replicas with skewed clocks agree.
type dialect struct {
	// arrays decodes text[] columns, which pgx's database/sql layer hands
	// over in PostgreSQL's text form. A pgtype.Map caches its plans and
	// is not safe for concurrent use, hence mu.
	mu     sync.Mutex
	arrays *pgtype.Map
}

var _ sqlstore.Dialect = (*dialect)(nil)

func newDialect() *dialect { return &dialect{arrays: pgtype.NewMap()} }

// Time is t itself: pgx encodes it as timestamptz.
func (*dialect) Time(t time.Time) any { return t }

// Notes is notes itself: pgx encodes a []string as text[].
func (*dialect) Notes(notes []string) (any, error) { return notes, nil }

// DecodeNotes parses a text[] in PostgreSQL's text form ({a,"b c"}).
func (d *dialect) DecodeNotes(src string) ([]string, error) {
	var notes []string
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.arrays.Scan(pgtype.TextArrayOID, pgtype.TextFormatCode, []byte(src), &notes); err != nil {
		return nil, fmt.Errorf("parsing text[]: %w", err)
	}
	return notes, nil
}

// Now is the database's clock.
func (*dialect) Now(*sqlstore.Args) string { return "now()" }

// Later is the database's clock plus dur, to the microsecond.
func (*dialect) Later(a *sqlstore.Args, dur time.Duration) string {
	return "(now() + " + a.Add(dur.Microseconds()) + "::bigint * interval '1 microsecond')"
}

// SkipLocked lets a replica pass over rows another one is changing
// instead of waiting for them; it gets them next round, if still there.
func (*dialect) SkipLocked() string { return " FOR UPDATE SKIP LOCKED" }

// AcquireRuns picks and leases in one statement, on the database's clock.
// FOR UPDATE makes concurrent callers, from any process, queue on each
// row and re-check it as the previous one left it, so a run taken
// meanwhile is no longer eligible; SKIP LOCKED lets a caller pass over
// rows another is taking. The pick is a CTE, not "WHERE seq IN (SELECT
// ... LIMIT ... FOR UPDATE SKIP LOCKED)" as on SQLite: a locking CTE is
// evaluated once, while the planner may run such a sub-select more than
// once (a nested loop), leasing more than limit runs.
func (d *dialect) AcquireRuns(a *sqlstore.Args, owner string, lease time.Duration, limit int) string {
	o, until := a.Add(owner), d.Later(a, lease)
	return `WITH picked AS (
			SELECT id FROM runs
			WHERE phase <> 'done' AND (owner = ` + o + ` OR owner = '' OR lease_until IS NULL OR lease_until <= now())
			ORDER BY created_at, seq
			LIMIT ` + a.Add(limit) + `
			FOR UPDATE SKIP LOCKED
		), leased AS (
			UPDATE runs SET owner = ` + o + `, lease_until = ` + until + `
			FROM picked WHERE runs.id = picked.id
			RETURNING runs.*
		)
		SELECT seq, ` + sqlstore.RunColumns + ` FROM leased ORDER BY created_at, seq`
}
