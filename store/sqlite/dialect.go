package sqlite

import (
	"encoding/json"
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

// Notes is notes as a JSON array.
func (dialect) Notes(notes []string) (any, error) {
	b, err := json.Marshal(notes)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// DecodeNotes reads a JSON array.
func (dialect) DecodeNotes(src string) ([]string, error) {
	var notes []string
	err := json.Unmarshal([]byte(src), &notes)
	return notes, err
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

// AcquireRuns picks and leases in one UPDATE: SQLite runs a statement as
// one write transaction, and the single writer connection serializes
// them, so two owners never both get a run.
func (d dialect) AcquireRuns(a *sqlstore.Args, owner string, lease time.Duration, limit int) string {
	o, until, now := a.Add(owner), d.Later(a, lease), d.Now(a)
	return `UPDATE runs SET owner = ` + o + `, lease_until = ` + until + `
		WHERE seq IN (
			SELECT seq FROM runs
			WHERE phase <> 'done' AND (owner = ` + o + ` OR owner = '' OR lease_until IS NULL OR lease_until <= ` + now + `)
			ORDER BY created_at, seq
			LIMIT ` + a.Add(limit) + `)
		RETURNING seq, ` + sqlstore.RunColumns
}
