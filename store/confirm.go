package store

import (
	"errors"
	"time"
)

// Errors of TakeConfirmation besides ErrNotFound.
var (
	// ErrExpired: the confirmation exists but its time has passed; it is
	// consumed, so it cannot be taken later either.
	ErrExpired = errors.New("store: confirmation expired")
	// ErrNotYours: somebody other than the requester tried to take the
	// confirmation; it stays for the requester.
	ErrNotYours = errors.New("store: confirmation belongs to someone else")
)

// Confirmation is a request that waits for its requester to confirm it
// (a job with confirm = true). It is stored so that a confirmation given
// after a restart, or to another replica, still finds what it confirms.
// Like Run it is plain data: the run plugin decides what it means.
type Confirmation struct {
	// Code identifies the confirmation: the button's action id and the
	// text of `confirm <code>`.
	Code string
	// Requester is the identity "platform:userID" whose confirmation
	// counts; UserID is the chat user id alone.
	Requester string
	UserID    string

	// Where the request was made and where the run's answer goes.
	Platform  string
	ChannelID string
	ThreadID  string
	Direct    bool
	Handle    string

	// What runs once confirmed: the project as configured, the job, the
	// ref as typed ("" for the default) and the raw arguments.
	Project string
	Job     string
	Ref     string
	Args    string

	// CreatedAt is set by CreateConfirmation; ExpiresAt is when the
	// confirmation lapses.
	CreatedAt time.Time
	ExpiresAt time.Time
}
