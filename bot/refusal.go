package bot

import "fmt"

// Refusal is an error meant for the chat user: a request the bot will not
// or cannot carry out, saying what happened and what to do. Plugins and
// services return it (wrapped or not) for refusals and bad input; the
// command router answers with its Reply instead of a generic failure. It
// is the one type for "tell the user this", whoever produces it.
type Refusal struct {
	// Title is the headline ("Unknown job deploy").
	Title string
	// Text says what to do about it.
	Text string
	// Status defaults to StatusError.
	Status Status
	// Err is the underlying cause, for logs; it is not shown.
	Err error
}

// Refuse returns a Refusal with the given title and formatted advice.
func Refuse(title, format string, a ...any) *Refusal {
	return &Refusal{Title: title, Text: fmt.Sprintf(format, a...)}
}

func (e *Refusal) Error() string {
	if e.Err != nil {
		return e.Title + ": " + e.Err.Error()
	}
	return e.Title
}

// Unwrap returns the cause.
func (e *Refusal) Unwrap() error { return e.Err }

// Reply renders the refusal for the user.
func (e *Refusal) Reply() Reply {
	st := e.Status
	if st == StatusInfo {
		st = StatusError
	}
	return Reply{Status: st, Title: e.Title, Text: e.Text}
}
