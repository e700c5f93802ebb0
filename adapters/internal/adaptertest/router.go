// Package adaptertest holds what the chat adapters' tests share: a router
// with commands that exercise an adapter's reply paths.
package adaptertest

import (
	"context"
	"strings"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/commands"
)

// LastLine ends the output of the "big" command, so tests can check that a
// cut reply kept its tail.
const LastLine = "THE LAST LINE"

// Router returns a router with these commands: "echo <text>" replies with
// its raw arguments, "progress" replies and then edits that reply, "big"
// replies with output far over every platform's message limit,
// "markdown" with MarkdownReply, "bigmarkdown" with Markdown far over
// every limit (BigMarkdownReply), and DMCommand's "dm <text>".
func Router() *commands.Router {
	rt := commands.NewRouter("chatops")
	rt.MustHandle(DMCommand())
	rt.MustHandle(commands.Command{Name: "echo", Summary: "Echo the arguments", Handler: commands.HandlerFunc(
		func(ctx context.Context, w bot.Responder, r *commands.Request) error {
			_, err := w.Reply(ctx, bot.Reply{Title: "echo", Text: r.RawArgs})
			return err
		})})
	rt.MustHandle(commands.Command{Name: "progress", Summary: "Post, then update in place", Handler: commands.HandlerFunc(
		func(ctx context.Context, w bot.Responder, r *commands.Request) error {
			sent, err := w.Reply(ctx, bot.Reply{Status: bot.StatusWorking, Title: "working"})
			if err != nil {
				return err
			}
			_, err = w.Update(ctx, sent, bot.Reply{Status: bot.StatusSuccess, Title: "done"})
			return err
		})})
	rt.MustHandle(commands.Command{Name: "big", Summary: "Reply with very long output", Handler: commands.HandlerFunc(
		func(ctx context.Context, w bot.Responder, r *commands.Request) error {
			var b strings.Builder
			for i := range 3000 {
				b.WriteString("log line number ")
				b.WriteString(strings.Repeat("x", i%10))
				b.WriteString("\n")
			}
			b.WriteString(LastLine)
			_, err := w.Reply(ctx, bot.Reply{Status: bot.StatusSuccess, Title: "big", Code: b.String()})
			return err
		})})
	for name, reply := range map[string]bot.Reply{"markdown": MarkdownReply(), "bigmarkdown": BigMarkdownReply()} {
		rt.MustHandle(commands.Command{Name: name, Summary: "Reply with a job's Markdown", Handler: commands.HandlerFunc(
			func(ctx context.Context, w bot.Responder, r *commands.Request) error {
				_, err := w.Reply(ctx, reply)
				return err
			})})
	}
	return rt
}

// DMCommand is "dm <text>": it replies with text in the sender's direct
// conversation with the bot, opened through bot.Direct when asked in a
// channel, and then says "sent you a direct message" in the channel.
func DMCommand() commands.Command {
	return commands.Command{Name: "dm", Summary: "Answer in a direct message", Handler: commands.HandlerFunc(
		func(ctx context.Context, w bot.Responder, r *commands.Request) error {
			d, err := bot.Direct(ctx, w, r.Message)
			if err != nil {
				return err
			}
			if _, err := d.Reply(ctx, bot.Reply{Title: "dm", Text: r.RawArgs}); err != nil {
				return err
			}
			if !r.Message.Conversation.Direct {
				_, err = w.Reply(ctx, bot.Reply{Title: "sent you a direct message"})
			}
			return err
		})}
}
