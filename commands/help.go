package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/suggest"
)

func (rt *Router) helpCommand() Command {
	return Command{
		Name:     "help",
		Usage:    "[command]",
		Summary:  "List the commands, or explain one",
		Help:     "Without an argument, lists every command. With a command name, shows its usage, help and examples.",
		Examples: []string{"help", "help run"},
		Handler: HandlerFunc(func(ctx context.Context, w bot.Responder, r *Request) error {
			args, err := r.Args()
			if err != nil {
				return err
			}
			if len(args) == 0 {
				o := rt.Overview()
				if r.Message.Conversation.Direct {
					// A direct conversation (a DM, the terminal) needs no
					// mention or slash command: say only what works here.
					o = rt.overview("Type a command as shown; help <command> gives details.")
				}
				_, err := w.Reply(ctx, o)
				return err
			}
			c, ok := rt.Lookup(args[0])
			if !ok {
				_, err := w.Reply(ctx, rt.unknown(args[0]))
				return err
			}
			_, err = w.Reply(ctx, rt.Detail(c))
			return err
		}),
	}
}

// Overview is the reply to "help" in a channel: one line per command and
// how to address the bot.
func (rt *Router) Overview() bot.Reply {
	return rt.overview(fmt.Sprintf("Mention me (@%s help), message me directly, or use /%s. Type help <command> for details.", rt.botName, rt.botName))
}

func (rt *Router) overview(hint string) bot.Reply {
	var b strings.Builder
	for _, c := range rt.Commands() {
		if c.Hidden {
			continue
		}
		fmt.Fprintf(&b, "%s — %s\n", rt.usage(c), c.Summary)
	}
	return bot.Reply{
		Status: bot.StatusInfo,
		Title:  "Commands",
		Text:   strings.TrimRight(b.String(), "\n") + "\n\n" + hint,
	}
}

// Detail is the reply to "help <command>".
func (rt *Router) Detail(c Command) bot.Reply {
	var b strings.Builder
	b.WriteString(c.Summary)
	if c.Help != "" {
		b.WriteString("\n\n" + c.Help)
	}
	if len(c.Aliases) > 0 {
		b.WriteString("\n\nAliases: " + strings.Join(c.Aliases, ", "))
	}
	if len(c.Examples) > 0 {
		b.WriteString("\n\nExamples:")
		for _, e := range c.Examples {
			b.WriteString("\n  " + e)
		}
	}
	return bot.Reply{Status: bot.StatusInfo, Title: "Usage: " + rt.usage(c), Text: b.String()}
}

func (rt *Router) usage(c Command) string {
	if c.Usage == "" {
		return c.Name
	}
	return c.Name + " " + c.Usage
}

func (rt *Router) greeting() bot.Reply {
	return bot.Reply{Status: bot.StatusInfo, Title: "Hi! I am " + rt.botName,
		Text: "Type help to see what I can do, for example: help run"}
}

func (rt *Router) unknown(name string) bot.Reply {
	text := "Type help to see every command."
	if s := rt.suggest(name); s != "" {
		text = fmt.Sprintf("Did you mean %s? Type help to see every command.", s)
	}
	return bot.Reply{Status: bot.StatusError, Title: fmt.Sprintf("Unknown command %q", name), Text: text}
}

// suggest returns the known command or alias closest to name, if it is
// close enough to be a plausible typo.
func (rt *Router) suggest(name string) string {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	cands := make([]string, 0, len(rt.names))
	for n := range rt.names {
		cands = append(cands, n)
	}
	return suggest.Closest(name, cands)
}
