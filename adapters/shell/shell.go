// Package shell is the terminal adapter: every line read from its input is
// a command addressed to the bot, and replies are printed as readable text.
// It needs no configuration, which makes it the default for trying the bot
// and the easiest way to drive it from scripts and tests.
package shell

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatops-dev/chatops/bot"
)

// maxLine bounds one input line; a longer line is an error, not a silent cut.
const maxLine = 1 << 20

// Config configures the terminal adapter.
type Config struct {
	// User is the user id the terminal speaks as; default: the OS user.
	User string
	// In is where commands are read from; default os.Stdin.
	In io.Reader
	// Out is where replies are written; default os.Stdout.
	Out io.Writer
	// Color enables ANSI colours; default: on when Out is a terminal.
	Color *bool
	// Prompt prints "> " before reading; default: on when In is a terminal.
	Prompt *bool
}

// Adapter is the terminal adapter. It implements bot.Adapter.
type Adapter struct {
	user   string
	in     io.Reader
	out    io.Writer
	color  bool
	prompt bool

	mu     sync.Mutex // one reply printed at a time
	nextID atomic.Uint64
}

// New returns a terminal adapter.
func New(cfg Config) *Adapter {
	a := &Adapter{user: cfg.User, in: cfg.In, out: cfg.Out}
	if a.in == nil {
		a.in = os.Stdin
	}
	if a.out == nil {
		a.out = os.Stdout
	}
	if a.user == "" {
		a.user = DefaultUser()
	}
	a.color = isTerminal(a.out)
	if cfg.Color != nil {
		a.color = *cfg.Color
	}
	a.prompt = isTerminal(a.in)
	if cfg.Prompt != nil {
		a.prompt = *cfg.Prompt
	}
	return a
}

// DefaultUser is the OS user name, or "shell" when it cannot be found.
func DefaultUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "shell"
}

// User is the user id this terminal speaks as.
func (a *Adapter) User() string { return a.user }

// Name implements bot.Adapter.
func (a *Adapter) Name() string { return "shell" }

// Run implements bot.Adapter: it delivers every non-empty input line until
// end of input or ctx ends, then returns nil.
func (a *Adapter) Run(ctx context.Context, deliver func(bot.Message)) error {
	lines := make(chan string)
	errc := make(chan error, 1)
	go func() {
		// Reading blocks and cannot be cancelled; the goroutine ends with
		// the input (the process exits soon after ctx ends anyway).
		sc := bufio.NewScanner(a.in)
		sc.Buffer(make([]byte, 64*1024), maxLine)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		errc <- sc.Err()
	}()
	for {
		a.showPrompt()
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			if err != nil {
				return fmt.Errorf("read terminal input: %w", err)
			}
			return nil
		case line := <-lines:
			line = strings.TrimRight(line, "\r")
			if strings.TrimSpace(line) == "" {
				continue
			}
			deliver(bot.Message{
				Platform: "shell",
				ID:       strconv.FormatUint(a.nextID.Add(1), 10),
				// Handle carries the command line so each reply can say
				// which command it answers: commands run concurrently and
				// their replies interleave.
				Conversation: bot.Conversation{ChannelID: "terminal", Direct: true, Handle: line},
				Sender:       bot.User{ID: a.user, Username: a.user, DisplayName: a.user},
				Text:         line,
				Addressed:    true,
				Received:     time.Now(),
			})
		}
	}
}

func (a *Adapter) showPrompt() {
	if !a.prompt {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	fmt.Fprint(a.out, "> ")
}

// Send implements bot.Adapter by printing the reply.
func (a *Adapter) Send(_ context.Context, to bot.Conversation, r bot.Reply) (bot.Sent, error) {
	text := Render(r, a.color)
	if to.Handle != "" {
		header := "» " + firstLine(to.Handle, 72)
		if a.color {
			header = dim + header + reset
		}
		text = header + "\n" + text
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, err := io.WriteString(a.out, text+"\n"); err != nil {
		return bot.Sent{}, bot.Permanent(fmt.Errorf("write reply to terminal: %w", err))
	}
	return bot.Sent{ID: strconv.FormatUint(a.nextID.Add(1), 10)}, nil
}

// ANSI SGR sequences for statuses.
const (
	reset  = "\x1b[0m"
	bold   = "\x1b[1m"
	dim    = "\x1b[2m"
	red    = "\x1b[31m"
	green  = "\x1b[32m"
	yellow = "\x1b[33m"
	cyan   = "\x1b[36m"
)

// Render formats a reply for the terminal, with colours when color is set.
func Render(r bot.Reply, color bool) string {
	if !color {
		return r.Plain()
	}
	var c string
	switch r.Status {
	case bot.StatusSuccess:
		c = green
	case bot.StatusFailure, bot.StatusError:
		c = red
	case bot.StatusWorking, bot.StatusTimedOut, bot.StatusCanceled:
		c = yellow
	default:
		c = cyan
	}
	plain := r.Plain()
	if r.Title == "" {
		return plain
	}
	first, rest, _ := strings.Cut(plain, "\n")
	out := c + bold + first + reset
	if rest != "" {
		out += "\n" + rest
	}
	return out
}

// firstLine returns s up to its first newline, cut to max runes.
func firstLine(s string, max int) string {
	s, _, cut := strings.Cut(s, "\n")
	if r := []rune(s); len(r) > max {
		return string(r[:max]) + "…"
	} else if cut {
		return s + " …"
	}
	return s
}

func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
