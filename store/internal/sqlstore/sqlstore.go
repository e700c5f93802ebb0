// Package sqlstore is the logic of store.Store written once for both
// databases: runs with optimistic versions, leases, event claims, cursors,
// identities, confirmations and pending links. store/sqlite runs it over database/sql
// (modernc.org/sqlite); store/postgres over its pgx pool.
//
// Why a three-method DB interface rather than database/sql everywhere
// (pgx has a database/sql driver): the statements and their logic are the
// same either way, but pgx's database/sql layer made the PostgreSQL calls
// the watcher makes measurably slower (see DB). What stays per database
// is what really differs, behind a small Dialect:
//
//   - how a time and a run's notes are stored (SQLite: INTEGER
//     microseconds and JSON text; PostgreSQL: timestamptz and text[]);
//   - whose clock decides claims, leases and expiry (this process's on
//     SQLite, bound as arguments, since one process owns the file; the
//     database's now() on PostgreSQL, so replicas with skewed clocks
//     agree);
//   - row locking: PostgreSQL's FOR UPDATE SKIP LOCKED where replicas
//     compete for rows; SQLite serializes writers and has no such clause;
//   - the statement picking and leasing rows (runs, pending links), whose
//     safe form differs (see Dialect.Acquire).
//
// Placeholders are $1, $2, ... everywhere. PostgreSQL requires them;
// SQLite reads $NNN as a named parameter and modernc.org/sqlite binds it
// to the argument of ordinal NNN, in any order and repeated (a test in
// store/sqlite pins that down). Opening, locking, migrations and
// Notify/Listen stay in the two packages.
//
// Unique violations need no classification: every insert that may
// collide says ON CONFLICT, which both databases run alike.
package sqlstore

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/chatops-dev/chatops/store"
)

// Tuning of expired-claim cleanup: every cleanEvery claims, ClaimEvent
// deletes at most cleanBatch expired claims, so the table stays about as
// large as the claims within their ttl and no call does unbounded work.
// CreateConfirmation deletes at most cleanBatch lapsed confirmations.
const (
	cleanEvery = 100
	cleanBatch = 1000
)

// Dialect is what differs between the databases in the statements Store
// runs. Implementations are safe for concurrent use.
type Dialect interface {
	// Time encodes t for a time column. The zero time is encoded like any
	// other (columns that store it as NULL get nil from Store instead).
	Time(t time.Time) any
	// TimeDest is a Scan destination that decodes a time column into *t:
	// the zero time for NULL, else in UTC.
	TimeDest(t *time.Time) any
	// Notes encodes a run's notes, never empty (Store stores none as NULL).
	Notes(notes []string) (any, error)
	// NotesDest is a Scan destination that decodes a notes column into
	// *notes (nil or empty for NULL).
	NotesDest(notes *[]string) any
	// Now returns SQL for the current time, by the clock that decides
	// claims, leases and expiry, adding to a any argument it needs.
	Now(a *Args) string
	// Later returns SQL for the current time plus d, by the same clock.
	Later(a *Args, d time.Duration) string
	// SkipLocked ends a sub-select that picks rows to change, so that
	// concurrent callers in several processes pass over rows another one
	// is changing ("" where writers are serialized anyway).
	SkipLocked() string
	// Acquire returns the statement that leases to owner, until
	// Later(lease), at most limit of t's live rows that are owner's
	// already (first) or free or lapsed (oldest first), and returns
	// t.Returning for each. A row of owner's own is never passed over for
	// being locked (a save of it in flight): it is waited for, or the
	// owner would take its absence for a takeover. Store sorts the rows,
	// since RETURNING has no order.
	Acquire(a *Args, t Leased, owner string, lease time.Duration, limit int) string
	// AcquireRuns is Acquire over open runs, returning seq followed by
	// RunColumns (the dialect picks the key column).
	AcquireRuns(a *Args, owner string, lease time.Duration, limit int) string
}

// Leased describes a table whose rows are leased like runs (owner and
// lease_until columns), for Dialect.Acquire. Its strings are SQL written
// by this package, never input.
type Leased struct {
	// Table is the table's name.
	Table string
	// Key is a unique column the statement picks rows by.
	Key string
	// Live is the condition a row must meet to be leased at all (an open
	// run, an unexpired link), with its placeholders in the same Args.
	Live string
	// Order is the ORDER BY list, oldest first.
	Order string
	// Returning lists the columns returned for each leased row.
	Returning string
}

// RunColumns are the runs columns Store reads and writes, in the order of
// its scans and its INSERT.
const RunColumns = `id, kind, platform, channel_id, thread_id, direct, handle, reply_id,
	requester, user_id, gitlab_user, project, project_id, ref, job, args,
	pipeline_id, pipeline_url, job_id, job_url, status, notes, phase, deadline,
	answer, attempts, next_attempt, created_at, updated_at, version, owner, lease_until`

// Store implements the data methods of store.Store over database/sql. The
// two packages embed it and add Open, Close, Ping, Notify and Listen.
type Store struct {
	// w takes every statement that writes, r the reads. On SQLite w is a
	// single connection (writes queue in Go rather than fail with
	// SQLITE_BUSY) and r read-only ones running alongside it; on
	// PostgreSQL both are one pool.
	w, r DB
	d    Dialect
	// claims counts ClaimEvent calls, to clean up every cleanEvery.
	claims atomic.Int64
	// clock is this process's clock, which callers' times (a LeaseUntil)
	// were read on; see SetClock.
	clock func() time.Time
}

// SetClock replaces the process's clock the store takes callers' times
// to be read on, so a test can play a process whose clock is skewed from
// the database's. Call it before any other method.
func (s *Store) SetClock(now func() time.Time) { s.clock = now }

// leaseSQL returns SQL for a lease given as until on this process's
// clock, added to a: the same span from now by the dialect's clock, the
// one that judges leases (the database's on PostgreSQL, where until
// itself would be off by the skew between the clocks). A zero until is
// no lease (NULL).
func (s *Store) leaseSQL(a *Args, until time.Time) string {
	if until.IsZero() {
		return a.Add(nil)
	}
	return s.d.Later(a, until.Sub(s.clock()))
}

// New returns a Store writing through w and reading through r (they may
// be the same) with dialect d.
func New(w, r DB, d Dialect) *Store {
	return &Store{w: w, r: r, d: d, clock: time.Now}
}

// Args collects a statement's arguments and hands out their placeholders.
type Args struct {
	vals []any
	now  time.Time
}

// Add appends v and returns its placeholder.
func (a *Args) Add(v any) string {
	a.vals = append(a.vals, v)
	return "$" + strconv.Itoa(len(a.vals))
}

// Values are the arguments added so far, in placeholder order.
func (a *Args) Values() []any { return a.vals }

// Clock is this process's time for the statement, read on first use, so
// that every use in one statement (a lease's start and end) agrees.
func (a *Args) Clock() time.Time {
	if a.now.IsZero() {
		a.now = time.Now()
	}
	return a.now
}

// now is the time CreateRun and SaveRun record, at the stored precision.
// It is this process's clock on both databases: created_at and
// updated_at only order and inform, they decide nothing between replicas.
func now() time.Time { return store.StoredTime(time.Now()) }
