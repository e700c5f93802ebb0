package commands

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/chatops-dev/chatops/bot"
)

// Outcomes of a command, as logged and counted in metrics: a small fixed
// set, so they can be a metrics label.
const (
	OutcomeOK       = "ok"        // the handler returned nil
	OutcomeRefused  = "refused"   // a bot.Refusal: answered, not a fault
	OutcomeBadInput = "bad_input" // arguments that could not be read
	OutcomeCanceled = "canceled"  // cut by a shutdown or a deadline
	OutcomeError    = "error"     // anything else: a fault worth a look
)

// Outcome classifies a handler's error into one of the Outcome constants.
func Outcome(err error) string {
	var ref *bot.Refusal
	var tok *TokenError
	switch {
	case err == nil:
		return OutcomeOK
	case errors.As(err, &ref):
		return OutcomeRefused
	case errors.As(err, &tok):
		return OutcomeBadInput
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return OutcomeCanceled
	default:
		return OutcomeError
	}
}

// logCommand writes the one line a handled command gets. The request's
// logger (bot.Logger) already carries adapter, user, channel, event and
// request id; this adds what only the router knows. Arguments are logged
// by length only, since they may hold secrets. Faults are warnings, never
// info.
func logCommand(ctx context.Context, command string, rawArgs string, start time.Time, err error) {
	outcome := Outcome(err)
	attrs := []any{"command", command, "outcome", outcome, "args_bytes", len(rawArgs),
		"duration", time.Since(start).Round(time.Millisecond)}
	lvl := slog.LevelInfo
	switch outcome {
	case OutcomeError, OutcomeCanceled:
		lvl = slog.LevelWarn
		attrs = append(attrs, "err", err)
	case OutcomeRefused, OutcomeBadInput:
		attrs = append(attrs, "reason", err)
	}
	bot.Logger(ctx).Log(ctx, lvl, "command", attrs...)
}
