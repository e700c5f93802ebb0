package sqlite

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/chatops-dev/chatops/store/internal/sqlstore"
)

// dialect is SQLite's sqlstore.Dialect. Times are INTEGER microseconds
// since the Unix epoch (they sort and compare correctly, which RFC 3339
// text with trimmed fractions does not), notes a JSON array, and the
// clock is this process's: the file lock makes it the file's only user.
type dialect struct{}

var _ sqlstore.Dialect = dialect{}

// Time is t in microseconds since the Unix epoch.
func (dialect) Time(t time.Time) any { return t.UnixMicro() }

// TimeDest decodes microseconds since the Unix epoch.
func (dialect) TimeDest(t *time.Time) any { return timeDest{t} }

// timeDest scans INTEGER microseconds, or NULL for the zero time.
type timeDest struct{ t *time.Time }

// Scan implements sql.Scanner.
func (d timeDest) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d.t = time.Time{}
	case int64:
		*d.t = time.UnixMicro(v).UTC()
	default:
		return fmt.Errorf("scanning a time: unexpected %T", src)
	}
	return nil
}

// Notes is notes as a JSON array.
func (dialect) Notes(notes []string) (any, error) {
	b, err := json.Marshal(notes)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// NotesDest decodes the JSON array of a notes column.
func (dialect) NotesDest(notes *[]string) any { return notesDest{notes} }

// notesDest scans a JSON array of strings (TEXT, or NULL for none).
type notesDest struct{ notes *[]string }

// Scan implements sql.Scanner.
func (n notesDest) Scan(src any) error {
	*n.notes = nil
	var text []byte
	switch v := src.(type) {
	case nil:
		return nil
	case string:
		text = []byte(v)
	case []byte:
		text = v
	default:
		return fmt.Errorf("scanning notes: unexpected %T", src)
	}
	if len(text) == 0 {
		return nil
	}
	if err := json.Unmarshal(text, n.notes); err != nil {
		return fmt.Errorf("decoding notes: %w", err)
	}
	return nil
}

// Now binds this process's time: SQLite's own 'now' has only
// milliseconds.
func (d dialect) Now(a *sqlstore.Args) string { return a.Add(d.Time(a.Clock())) }

// Later binds this process's time plus dur.
func (d dialect) Later(a *sqlstore.Args, dur time.Duration) string {
	return a.Add(d.Time(a.Clock().Add(dur)))
}

// SkipLocked is empty: SQLite has no row locks, and this Store's single
// writer connection runs one statement at a time.
func (dialect) SkipLocked() string { return "" }

// Acquire picks and leases in one UPDATE: SQLite runs a statement as one
// write transaction, and the single writer connection serializes them, so
// two owners never both get a row. The owner's own rows come first: at
// its limit a process renews what it holds rather than drop it for older
// free rows.
func (d dialect) Acquire(a *sqlstore.Args, t sqlstore.Leased, owner string, lease time.Duration, limit int) string {
	o, until, now := a.Add(owner), d.Later(a, lease), d.Now(a)
	return `UPDATE ` + t.Table + ` SET owner = ` + o + `, lease_until = ` + until + `
		WHERE ` + t.Key + ` IN (
			SELECT ` + t.Key + ` FROM ` + t.Table + `
			WHERE (` + t.Live + `) AND (owner = ` + o + ` OR owner = '' OR lease_until IS NULL OR lease_until <= ` + now + `)
			ORDER BY (owner = ` + o + `) DESC, ` + t.Order + `
			LIMIT ` + a.Add(limit) + `)
		RETURNING ` + t.Returning
}

// AcquireRuns picks runs by seq, the rowid: runs_open holds it.
func (d dialect) AcquireRuns(a *sqlstore.Args, owner string, lease time.Duration, limit int) string {
	return d.Acquire(a, sqlstore.Leased{Table: "runs", Key: "seq", Live: "phase <> 'done'",
		Order: "created_at, seq", Returning: "seq, " + sqlstore.RunColumns}, owner, lease, limit)
}
