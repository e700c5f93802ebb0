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

	mu       sync.Mutex // one reply or log line printed at a time
	prompted bool       // the prompt is the last thing on the screen
	nextID   atomic.Uint64
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

// Console implements bot.Console: every line comes from the operator at
// the terminal, where piping a script of commands is normal use.
func (a *Adapter) Console() bool { return true }

// Interactive reports whether a person types at a terminal (the input is
// one): the prompt is shown, and logs should be kept to warnings.
func (a *Adapter) Interactive() bool { return a.prompt }

// Run implements bot.Adapter: it delivers every non-empty input line until
// end of input or ctx ends, then returns nil. A line longer than maxLine
// is refused with a message and skipped.
func (a *Adapter) Run(ctx context.Context, deliver func(bot.Message)) error {
	type line struct {
		text    string
		tooLong bool
	}
	lines := make(chan line)
	errc := make(chan error, 1)
	go func() {
		// Reading blocks and cannot be cancelled; the goroutine ends with
		// the input (the process exits soon after ctx ends anyway).
		r := bufio.NewReaderSize(a.in, 64*1024)
		for {
			text, tooLong, err := readLine(r, maxLine)
			if err != nil {
				if err == io.EOF {
					err = nil
				}
				errc <- err
				return
			}
			select {
			case lines <- line{text, tooLong}:
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		a.showPrompt()
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			a.endPrompt()
			if err != nil {
				return fmt.Errorf("read terminal input: %w", err)
			}
			return nil
		case l := <-lines:
			a.mu.Lock()
			a.prompted = false // the user pressed Enter: a fresh line
			a.mu.Unlock()
			if l.tooLong {
				_, _ = a.Send(ctx, bot.Conversation{}, bot.Reply{Status: bot.StatusError, Title: "Line too long",
					Text: fmt.Sprintf("A command may be at most %d KiB; that line was ignored.", maxLine>>10)})
				continue
			}
			text := strings.TrimRight(l.text, "\r")
			if strings.TrimSpace(text) == "" {
				continue
			}
			deliver(bot.Message{
				Platform: "shell",
				ID:       strconv.FormatUint(a.nextID.Add(1), 10),
				// Handle carries the command line so each reply can say
				// which command it answers: commands run concurrently and
				// their replies interleave.
				Conversation: bot.Conversation{ChannelID: "terminal", Direct: true, Handle: text},
				Sender:       bot.User{ID: a.user, Username: a.user, DisplayName: a.user},
				Text:         text,
				Addressed:    true,
				Received:     time.Now(),
			})
		}
	}
}

// readLine reads one line of at most max bytes without its line ending.
// A longer line is read to its end and discarded: tooLong reports it.
// The last line may lack a newline; io.EOF comes after it.
func readLine(r *bufio.Reader, max int) (text string, tooLong bool, err error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(buf)+len(chunk) <= max+1 { // +1: the newline
			buf = append(buf, chunk...)
		} else {
			tooLong, buf = true, nil
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && (len(buf) > 0 || tooLong):
			return strings.TrimRight(string(buf), "\n"), tooLong, nil
		case err != nil:
			return "", false, err
		}
		return strings.TrimRight(string(buf), "\n"), tooLong, nil
	}
}

// showPrompt prints "> " unless it is already showing.
func (a *Adapter) showPrompt() {
	if !a.prompt {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.prompted {
		fmt.Fprint(a.out, "> ")
		a.prompted = true
	}
}

// endPrompt leaves the prompt line at end of input, so what follows
// (a shutdown notice) starts on a line of its own.
func (a *Adapter) endPrompt() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.clearPrompt()
}

// clearPrompt takes the prompt off the current line before other output:
// erased on a terminal, else ended with a newline. Callers hold mu.
func (a *Adapter) clearPrompt() {
	if !a.prompted {
		return
	}
	if a.color {
		io.WriteString(a.out, "\r\x1b[K")
	} else {
		io.WriteString(a.out, "\n")
	}
	a.prompted = false
}

// print writes text on lines of its own, with the prompt after it.
func (a *Adapter) print(w io.Writer, text string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.clearPrompt()
	_, err := io.WriteString(w, text)
	if a.prompt {
		fmt.Fprint(a.out, "> ")
		a.prompted = true
	}
	return err
}

// LogWriter wraps w (stderr, on the same terminal) so that log lines
// never land on the prompt line: the prompt is cleared before a line and
// shown again after it.
func (a *Adapter) LogWriter(w io.Writer) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		if err := a.print(w, string(p)); err != nil {
			return 0, err
		}
		return len(p), nil
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// Send implements bot.Adapter by printing the reply: a reply saying work
// is in progress as one compact line (the run's progress is a line per
// state change), anything else in full.
func (a *Adapter) Send(_ context.Context, to bot.Conversation, r bot.Reply) (bot.Sent, error) {
	var text string
	header := ""
	if to.Handle != "" {
		header = "» " + firstLine(to.Handle, 72)
		if a.color {
			header = dim + header + reset
		}
	}
	switch {
	case r.Status == bot.StatusWorking:
		text = compact(r, a.color)
		if header != "" {
			text = header + "  " + text
		}
	case header != "":
		text = header + "\n" + Render(r, a.color)
	default:
		text = Render(r, a.color)
	}
	if err := a.print(a.out, text+"\n"); err != nil {
		return bot.Sent{}, bot.Permanent(fmt.Errorf("write reply to terminal: %w", err))
	}
	return bot.Sent{Conversation: to, ID: strconv.FormatUint(a.nextID.Add(1), 10)}, nil
}

// compact renders a progress reply on one line: the title, the first
// field that identifies the work (a pipeline), and the first note.
func compact(r bot.Reply, color bool) string {
	s := r.Status.Emoji() + " " + r.Title
	if color {
		s = yellow + s + reset
	}
	for _, f := range r.Fields {
		if f.Name == "Pipeline" {
			s += " (pipeline " + f.Value + ")"
		}
	}
	if note := firstLine(r.Text, 100); note != "" {
		s += " — " + note
	}
	return s
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
// A reply's Markdown is rendered as terminal text (see renderMarkdown).
func Render(r bot.Reply, color bool) string {
	if r.Markdown != "" {
		// Plain shows Markdown as it is given: give it the rendering.
		r.Markdown = renderMarkdown(r.Markdown, color)
	}
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
