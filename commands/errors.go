package commands

import (
	"fmt"

	"github.com/chatops-dev/chatops/bot"
)

// UserError is an error meant for the chat user: it says what happened and
// what to do. Handlers return it for refusals and bad input; the router
// answers with its reply instead of a generic failure.
type UserError struct {
	// Title is the headline ("Unknown job deploy").
	Title string
	// Text says what to do about it.
	Text string
	// Status defaults to bot.StatusError.
	Status bot.Status
	// Err is the underlying cause, for logs; it is not shown.
	Err error
}

// Errorf returns a UserError with the given title and formatted advice.
func Errorf(title, format string, a ...any) *UserError {
	return &UserError{Title: title, Text: fmt.Sprintf(format, a...)}
}

func (e *UserError) Error() string {
	if e.Err != nil {
		return e.Title + ": " + e.Err.Error()
	}
	return e.Title
}

// Unwrap returns the cause.
func (e *UserError) Unwrap() error { return e.Err }

// Reply renders the error for the user.
func (e *UserError) Reply() bot.Reply {
	st := e.Status
	if st == bot.StatusInfo {
		st = bot.StatusError
	}
	return bot.Reply{Status: st, Title: e.Title, Text: e.Text}
}
