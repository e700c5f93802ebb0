package commands

import (
	"context"
	"log/slog"
	"time"

	"github.com/chatops-dev/chatops/bot"
)

// Audit is middleware that logs every command with who ran it, where, and
// how it ended: the audit trail operators need for a bot that deploys. The
// raw arguments are logged by length only, since they may hold secrets.
func Audit(log *slog.Logger) Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, w bot.Responder, r *Request) error {
			start := time.Now()
			err := next.ServeCommand(ctx, w, r)
			l := bot.Logger(ctx)
			if l == slog.Default() {
				l = log
			}
			attrs := []any{"command", r.Command, "identity", r.Message.Identity(), "channel", r.Message.Conversation.ChannelID,
				"args_bytes", len(r.RawArgs), "duration", time.Since(start).Round(time.Millisecond)}
			if err != nil {
				l.Info("command failed", append(attrs, "err", err)...)
			} else {
				l.Info("command done", attrs...)
			}
			return err
		})
	}
}
