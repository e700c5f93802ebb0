// Package store keeps what must outlive a chatops process: runs (a GitLab
// pipeline started from chat, until its outcome has been delivered),
// claimed chat event ids (so a redelivered event is handled once, also
// across processes sharing a database), small named cursors (an
// adapter's position, such as the last handled Mattermost post), linked
// identities, confirmations and pending links (a `link` waiting for its
// user's approval in GitLab).
//
// Two implementations pass one shared test suite (store/storetest):
// store/sqlite, an embedded database file and the default, and
// store/postgres, for several replicas sharing one database.
// storeopen.Open picks one from the configuration (it lives in its own
// package because the implementations import this one).
//
// Times are kept to the microsecond, the finest PostgreSQL stores, by both
// implementations alike: CreateRun and SaveRun truncate the run's times in
// place, so the struct written equals the one read back, and times are read
// back in UTC. Empty Notes and Answer are read back as nil.
//
// The store knows no chat platform and no GitLab type: a run is a row of
// plain fields that the run plugin fills in.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Errors every implementation returns, so callers can test with errors.Is.
var (
	// ErrNotFound: no run with that id.
	ErrNotFound = errors.New("store: not found")
	// ErrExists: CreateRun with an id that is already stored.
	ErrExists = errors.New("store: already exists")
	// ErrConflict: SaveRun with a Version that is no longer the stored
	// one; somebody else saved the run since it was read.
	ErrConflict = errors.New("store: run changed since it was read")
)

// Phase is where a run is in its life. Each phase is recorded before the
// side effect that leaves it, so a process that dies at any point resumes
// without doing the effect twice.
type Phase string

// Phases of a run, in order.
const (
	// PhaseCreating: recorded before the pipeline is created. A run found
	// in this phase after a restart is looked up in GitLab by its id
	// before anything is created.
	PhaseCreating Phase = "creating"
	// PhaseFollowing: the pipeline exists; the run is followed until its
	// job finishes or the deadline passes.
	PhaseFollowing Phase = "following"
	// PhaseAnswering: the final answer is known (Answer holds it) and is
	// being delivered, with retries.
	PhaseAnswering Phase = "answering"
	// PhaseDone: the final answer was delivered, or delivery was given up.
	PhaseDone Phase = "done"
)

// Run is one run as stored. Every field is plain data: the run plugin
// decides what the strings mean.
type Run struct {
	// ID is the run's id, also set as CHATOPS_RUN_ID on the pipeline.
	ID string
	// Kind names what started the run ("run"; later "deploy").
	Kind string

	// Where the command came from and where the answer goes.
	Platform  string
	ChannelID string
	ThreadID  string
	Direct    bool
	// Handle is adapter-private reply data (a Discord interaction token).
	Handle string
	// ReplyID is the platform id of the progress reply the outcome is
	// edited into; empty until the reply was posted.
	ReplyID string

	// Who asked: the identity "platform:userID", the chat user id and the
	// GitLab username the run acts as.
	Requester  string
	UserID     string
	GitLabUser string

	// What runs: the project as configured, its numeric id, the ref, the
	// job and the raw arguments (CHAT_INPUT).
	Project   string
	ProjectID int64
	Ref       string
	Job       string
	Args      string

	// What GitLab made of it.
	PipelineID  int64
	PipelineURL string
	JobID       int64
	JobURL      string
	// Status is the job's last known GitLab status.
	Status string
	// Notes are remarks shown with the run's replies.
	Notes []string

	// Phase is where the run is; see the Phase constants.
	Phase Phase
	// Deadline is when the bot stops waiting for the job.
	Deadline time.Time
	// Answer is the final reply, encoded by the run plugin, stored once
	// known so delivery retries need not read the job log again.
	Answer []byte
	// Attempts counts failed deliveries of the answer; NextAttempt is when
	// to try again.
	Attempts    int
	NextAttempt time.Time

	// Owner names the process following the run and LeaseUntil is when
	// that claim lapses (see AcquireRuns). CreateRun stores Owner as given
	// and LeaseUntil as its span from now (LeaseUntil minus this
	// process's time) from now by the clock that judges leases, the
	// database's on PostgreSQL, so a process whose clock is skewed leases
	// for as long as it meant; r gets the stored time back. SaveRun leaves
	// them alone: only AcquireRuns and ReleaseRuns move a lease, so a save
	// from a stale copy cannot undo a renewal.
	Owner      string
	LeaseUntil time.Time

	// CreatedAt is set by CreateRun, UpdatedAt by every save.
	CreatedAt time.Time
	UpdatedAt time.Time
	// Version is bumped by every save; SaveRun refuses a stale one.
	Version int64
}

// Open reports whether the run still needs work from the bot.
func (r *Run) Open() bool { return r.Phase != PhaseDone }

// RunFilter selects runs for listing.
type RunFilter struct {
	// Platform and ChannelID, when set, restrict to one conversation.
	Platform  string
	ChannelID string
	// Requester, when set, restricts to one identity.
	Requester string
	// Project, when set, restricts to one project's path.
	Project string
	// IDPrefix, when set, restricts to the runs whose id starts with it
	// (a short id typed in chat), however old.
	IDPrefix string
	// OpenOnly leaves out done runs.
	OpenOnly bool
	// Limit bounds the result (default 20, at most 1000).
	Limit int
}

// Bounds of RunFilter.Limit.
const (
	// DefaultLimit applies when Limit is zero or negative.
	DefaultLimit = 20
	// MaxLimit caps Limit, so one listing cannot read the whole table.
	MaxLimit = 1000
)

// EffectiveLimit is f.Limit within its bounds: DefaultLimit when unset,
// at most MaxLimit.
func (f RunFilter) EffectiveLimit() int {
	switch {
	case f.Limit <= 0:
		return DefaultLimit
	case f.Limit > MaxLimit:
		return MaxLimit
	}
	return f.Limit
}

// MaxPayload is the largest Notify payload in bytes: PostgreSQL refuses
// 8000 bytes or more (in its default build).
const MaxPayload = 7999

// ErrPayload: Notify with a payload CheckPayload refuses.
var ErrPayload = errors.New("store: payload not allowed")

// CheckPayload returns an error matching ErrPayload when Notify must
// refuse payload: longer than MaxPayload, not UTF-8, or holding a NUL byte,
// all of which PostgreSQL refuses. Every store checks alike, so a payload
// that works on SQLite does not fail on PostgreSQL.
func CheckPayload(payload string) error {
	switch {
	case len(payload) > MaxPayload:
		return fmt.Errorf("%w: %d bytes, at most %d", ErrPayload, len(payload), MaxPayload)
	case !utf8.ValidString(payload):
		return fmt.Errorf("%w: not valid UTF-8", ErrPayload)
	case strings.IndexByte(payload, 0) >= 0:
		return fmt.Errorf("%w: holds a NUL byte", ErrPayload)
	}
	return nil
}

// TimePrecision is the resolution both implementations keep times at.
const TimePrecision = time.Microsecond

// StoredTime is t as a store keeps it: truncated to TimePrecision, in UTC,
// without a monotonic clock reading. The zero time stays zero.
func StoredTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Truncate(TimePrecision).UTC()
}

// Store is what must outlive a process. Implementations are safe for
// concurrent use.
type Store interface {
	// CreateRun stores a new run. It sets CreatedAt, UpdatedAt and
	// Version (1), and truncates the other times to TimePrecision.
	// ErrExists when the id is taken; an empty id is an error.
	CreateRun(ctx context.Context, r *Run) error
	// SaveRun stores every field of an existing run but its lease, if its
	// Version is the stored one; it then bumps r.Version and sets
	// r.UpdatedAt. CreatedAt, Owner and LeaseUntil are the stored ones
	// whatever r holds, and r gets them back, so a caller that saved a
	// copy taken before a takeover learns it lost the run. r is changed
	// only on success. ErrNotFound when there is no such run, ErrConflict
	// when the stored version differs.
	SaveRun(ctx context.Context, r *Run) error
	// GetRun returns one run, or ErrNotFound.
	GetRun(ctx context.Context, id string) (*Run, error)
	// OpenRuns returns every run whose phase is not done, oldest first.
	OpenRuns(ctx context.Context) ([]*Run, error)
	// ListRuns returns runs matching f, newest first.
	ListRuns(ctx context.Context, f RunFilter) ([]*Run, error)

	// ClaimEvent records key (a chat platform and its event id) and
	// reports whether this call was the first to do so within ttl: true
	// means handle the event, false means somebody already did. A claim
	// older than ttl no longer counts and is eventually deleted. ttl must
	// be positive. Implementations sharing a database (PostgreSQL) decide
	// atomically across processes, by the database's clock.
	ClaimEvent(ctx context.Context, key string, ttl time.Duration) (bool, error)

	// AcquireRuns leases to owner, until now+lease, every open run that
	// has no owner, whose lease has lapsed, or that owner holds already
	// (renewing it), oldest first, at most limit, and returns them. With
	// several processes on one database each open run is thus followed by
	// exactly one of them, and a dead one's runs pass to the others once
	// its leases lapse. The database's clock decides (PostgreSQL), so
	// processes with skewed clocks agree.
	//
	// A lease is not a change of the run: AcquireRuns bumps neither
	// Version nor UpdatedAt, so renewing the runs a process follows never
	// makes its copies stale. Two processes that both think they follow a
	// run (the old owner paused past its lease) are still kept apart by
	// Version: the second save is ErrConflict, and the run it then reads
	// back names the new Owner.
	//
	// owner must not be empty (no owner means free for anyone), lease must
	// be at least TimePrecision and limit positive.
	AcquireRuns(ctx context.Context, owner string, lease time.Duration, limit int) ([]*Run, error)
	// ReleaseRuns ends owner's leases on its open runs now (a clean
	// shutdown), so another process takes them over without waiting for
	// them to lapse. Owner stays, as a record of who followed them last.
	ReleaseRuns(ctx context.Context, owner string) error

	// Notify delivers payload to every process listening on this
	// database, this one included (PostgreSQL NOTIFY; in-process for
	// SQLite, which only one process may open). Best effort: a listener
	// that is not connected misses it, so a listener must not depend on
	// notifications alone (AcquireRuns, called periodically, still finds
	// every run). CheckPayload's rules apply, on every store alike.
	Notify(ctx context.Context, payload string) error
	// Listen calls f with every payload notified until ctx ends; it
	// reconnects by itself and returns nil when ctx ends or the store is
	// closed. f runs on Listen's goroutine, one payload at a time, in the
	// order they were notified.
	Listen(ctx context.Context, f func(payload string)) error

	// Cursor returns the value stored under key, "" when there is none.
	Cursor(ctx context.Context, key string) (string, error)
	// SetCursor stores value under key.
	SetCursor(ctx context.Context, key, value string) error

	// CreateConfirmation stores a confirmation waiting for its
	// requester. It sets CreatedAt and truncates the times to
	// TimePrecision. ErrExists when the code is taken; an empty code is
	// an error.
	CreateConfirmation(ctx context.Context, c *Confirmation) error
	// TakeConfirmation consumes the confirmation code for identity, in
	// one atomic step, so of two concurrent takers (a double click, two
	// replicas) exactly one gets it. ErrNotFound when there is none (or
	// it was taken already), ErrExpired when it has lapsed (by the
	// database's clock; it is deleted), ErrNotYours when identity is not
	// its requester (it stays).
	TakeConfirmation(ctx context.Context, code, identity string) (*Confirmation, error)

	// Ping checks that the store is reachable (for readiness).
	Ping(ctx context.Context) error
	// Close releases the store.
	Close() error

	// SaveIdentity stores a linked identity, replacing the one stored for
	// the same Chat. Times are truncated to TimePrecision in place. An
	// empty Chat is an error.
	SaveIdentity(ctx context.Context, id *Identity) error
	// GetIdentity returns the identity linked to chat ("platform:userID"),
	// or ErrNotFound.
	GetIdentity(ctx context.Context, chat string) (*Identity, error)
	// DeleteIdentity removes the link of chat; deleting a link that does
	// not exist is not an error.
	DeleteIdentity(ctx context.Context, chat string) error
	// SaveIdentityIf stores id like SaveIdentity, but only over a link of
	// id.Chat that still holds the sealed refresh token refresh; it
	// reports whether it stored (false, nil: the link is gone or holds
	// another token). A refreshed pair is saved with it, so a link
	// unlinked, relinked or refreshed by another process meanwhile is not
	// overwritten or brought back.
	SaveIdentityIf(ctx context.Context, id *Identity, refresh []byte) (bool, error)
	// DeleteIdentityIf removes the link of chat only if it still holds
	// the sealed refresh token refresh, and reports whether it did: a link
	// refreshed by another process since it was read is kept.
	DeleteIdentityIf(ctx context.Context, chat string, refresh []byte) (bool, error)

	// CreatePendingLink stores a pending link (see PendingLink), with no
	// Answer (l.Answer is ignored and cleared). It sets CreatedAt and
	// truncates the times and Interval to TimePrecision. ErrExists when
	// l.Identity has a link already that is unexpired or answered (by the
	// database's clock): an answered link blocks a new one until its
	// answer is delivered and it is deleted, seconds as a rule, so the
	// answer it holds is not overwritten; an expired, unanswered one is
	// replaced (its user, sending `link` again, needs no "expired"). This
	// is decided atomically, so of two `link`s by one user, on any
	// replicas, one starts a flow. An empty ID or Identity is an error.
	CreatePendingLink(ctx context.Context, l *PendingLink) error
	// SetPendingLinkTarget stores where the outcome of the pending link
	// l.ID goes (ChannelID, ThreadID, Direct, Handle), known only once the
	// verification link was posted, after the link was created; the other
	// fields are left alone. ErrNotFound when there is no such link.
	SetPendingLinkTarget(ctx context.Context, l *PendingLink) error
	// GetPendingLink returns identity's pending link that is unexpired or
	// answered (the one CreatePendingLink refuses a new link for), or
	// ErrNotFound.
	GetPendingLink(ctx context.Context, identity string) (*PendingLink, error)
	// AcquirePendingLinks leases to owner, until now+lease, every pending
	// link that is unexpired (to poll GitLab for) or answered, expired or
	// not (to deliver its answer: its answerer died, see PendingLink), and
	// that has no owner, whose lease has lapsed, or that owner holds
	// already (renewing it), owner's own first, then oldest first, at most
	// limit, and returns them: as AcquireRuns for runs, so one process
	// polls GitLab for each link, or delivers its answer, and a dead
	// one's pass to the others. The arguments are checked as AcquireRuns
	// checks them.
	AcquirePendingLinks(ctx context.Context, owner string, lease time.Duration, limit int) ([]*PendingLink, error)
	// ReleasePendingLinks ends owner's leases on pending links now (a
	// clean shutdown), so another process takes them over at once.
	ReleasePendingLinks(ctx context.Context, owner string) error
	// AnswerPendingLink stores answer as the outcome of the pending link
	// with that ID (not Identity: finishing an old flow must not answer a
	// newer one) if it has none yet, in one statement, and reports
	// whether this call stored it: of several processes finishing one
	// flow (a paused owner and the one that took it over, or an owner and
	// a caller answering an expired link), exactly one is told true, and
	// it delivers the answer, then deletes the link. The link is leased
	// to owner until now+lease, whatever the lease was, so nobody else
	// acquires it to deliver while owner does; if owner dies, the lease
	// lapses and another delivers. False, nil when the link is gone or
	// answered already. The owner and lease are checked as AcquireRuns
	// checks them; an empty answer is an error.
	AnswerPendingLink(ctx context.Context, id string, answer []byte, owner string, lease time.Duration) (bool, error)
	// DeletePendingLink deletes the pending link with that ID, answered or
	// not, and reports whether it was there: once the answer is
	// delivered, or when a `link` handler gives up before handing the
	// link over.
	DeletePendingLink(ctx context.Context, id string) (bool, error)
	// ExpiredPendingLinks returns expired, unanswered pending links that
	// no process holds a lease on (a live owner's own poll ends on the
	// expiry and answers), a bounded batch per call, deleting nothing:
	// the caller answers each (AnswerPendingLink decides who tells its
	// user), then delivers it and deletes it, so that a crash meanwhile
	// leaves the answer owed stored.
	ExpiredPendingLinks(ctx context.Context) ([]*PendingLink, error)
}
