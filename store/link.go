package store

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"
)

// PendingLink is a `link` waiting for its user's approval in GitLab (the
// OAuth device flow): stored, so that a process that stops while the user
// is still approving, or another replica after it, finishes the flow and
// answers once. Like Run it is leased: one process polls GitLab for it.
//
// A link ends as a run does: its outcome is stored first (Answer, set by
// AnswerPendingLink, which one caller wins), then delivered, then the link
// is deleted. A process that dies between the first and the last step
// leaves the answer stored, and whoever acquires the link next delivers
// it: the answer owed is never lost. Dying between delivering and
// deleting makes it go out twice; that order is chosen because the other
// (delete, then deliver) loses it.
type PendingLink struct {
	// ID names this flow, so finishing an old flow never deletes a newer
	// one of the same identity.
	ID string
	// Identity is the chat identity "platform:userID" being linked; it
	// has at most one unexpired pending link.
	Identity string

	// Where the verification link was posted and the outcome goes.
	Platform  string
	ChannelID string
	ThreadID  string
	Direct    bool
	Handle    string

	// DeviceCode is GitLab's device code, sealed by the caller (see
	// store/seal): with it anyone could complete the link as the user
	// approves it, so a copy of the database must not hand it out.
	DeviceCode []byte
	// Interval is how long to wait between polls, as GitLab asked.
	Interval time.Duration
	// ExpiresAt is when the device code lapses: the link is then no
	// longer acquired for polling, and is answered (see
	// ExpiredPendingLinks) unless it was answered already.
	ExpiresAt time.Time
	// CreatedAt is set by CreatePendingLink.
	CreatedAt time.Time

	// Owner names the process polling GitLab for the link and LeaseUntil
	// is when that claim lapses, as for runs (see AcquireRuns).
	// CreatePendingLink stores them as CreateRun does: LeaseUntil as its
	// span from now, by the clock that judges leases.
	Owner      string
	LeaseUntil time.Time

	// Answer is the outcome owed to the user, encoded by the caller (the
	// identity plugin stores a bot.Reply as JSON), nil while the link is
	// pending. Only AnswerPendingLink sets it, once; CreatePendingLink
	// stores none.
	Answer []byte
}

// NewOwner names this process in the store's leases: host, pid and a
// random suffix, so two processes on one host (or a restarted one with
// the same pid) never share a name.
func NewOwner() string {
	host, _ := os.Hostname()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}
