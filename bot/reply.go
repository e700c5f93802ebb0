package bot

import (
	"strings"
	"unicode/utf8"
)

// Status is the state a reply reports; adapters render it as colour, emoji
// or a prefix.
type Status int

// Statuses a Reply can carry.
const (
	// StatusInfo is a neutral answer (help, listings).
	StatusInfo Status = iota
	// StatusWorking means work is in progress and the reply will be updated.
	StatusWorking
	// StatusSuccess reports work that finished well.
	StatusSuccess
	// StatusFailure reports work that ran and failed (a failed job).
	StatusFailure
	// StatusCanceled reports work that was canceled.
	StatusCanceled
	// StatusTimedOut reports work the bot stopped waiting for.
	StatusTimedOut
	// StatusError reports a request the bot could not carry out: bad input,
	// missing rights, a service down. The text says what to do.
	StatusError
)

var statusNames = [...]string{"info", "working", "success", "failure", "canceled", "timed out", "error"}

// String returns the lower-case name of the status.
func (s Status) String() string {
	if int(s) < len(statusNames) && s >= 0 {
		return statusNames[s]
	}
	return "unknown"
}

// Emoji returns a Unicode symbol for the status, shared by renderers so every
// platform shows the same marks.
func (s Status) Emoji() string {
	switch s {
	case StatusWorking:
		return "⏳"
	case StatusSuccess:
		return "✅"
	case StatusFailure:
		return "❌"
	case StatusCanceled:
		return "🚫"
	case StatusTimedOut:
		return "⌛"
	case StatusError:
		return "⚠️"
	default:
		return "ℹ️"
	}
}

// Link is a labelled URL.
type Link struct {
	Label string
	URL   string
}

// Field is a short name/value pair shown compactly (job, duration, ...).
type Field struct {
	Name  string
	Value string
}

// Reply is a small, platform-neutral document. It holds no platform markup:
// each adapter renders it natively and within its platform's size limits.
type Reply struct {
	// Status colours the reply.
	Status Status
	// Title is a one-line headline, e.g. "deploy succeeded".
	Title string
	// Text is plain prose; newlines separate paragraphs or lines.
	Text string
	// Fields are compact facts (job, pipeline, duration).
	Fields []Field
	// Code is preformatted output shown verbatim in a code block, such as
	// a job's output. Renderers that must shorten it keep its tail: the end
	// of a log matters most.
	Code string
	// CodeNote says something about Code, e.g. "first 120 lines cut".
	CodeNote string
	// Markdown is content in CommonMark (with GitHub's tables and
	// strikethrough) written by someone the bot does not trust, such as a
	// job's chat_reply.md. Adapters show it as formatted text in their
	// platform's dialect, after Fields, and must keep it from doing what
	// its author may not: it never mentions anyone (@channel, @here, @all,
	// @user, <!channel>, <@U…>), links only to http, https and mailto
	// URLs, and never breaks the message: when it is too long, renderers
	// keep its start, cut between blocks, lines or words (never inside a
	// code fence or a character), and say so. Plain shows it as written.
	Markdown string
	// Links are shown after the content (pipeline, job log).
	Links []Link
	// Actions are buttons, rendered by adapters that can (Slack Block Kit,
	// Discord message components) and left out by the others: the text
	// must say how to do the same by typing (e.g. "confirm K7Q2").
	Actions []Action
}

// ActionStyle colours a button.
type ActionStyle int

// Button styles.
const (
	// ActionDefault is a plain button.
	ActionDefault ActionStyle = iota
	// ActionPrimary is the expected choice.
	ActionPrimary
	// ActionDanger is a destructive choice (a deploy).
	ActionDanger
)

// Action is a button in a reply. A click is delivered as a Message whose
// Action is ID, from the user who clicked.
type Action struct {
	// ID is "<command>:<argument>" (see ActionText), at most 100 bytes
	// (Discord's custom_id limit).
	ID string
	// Label is the button's text.
	Label string
	// Style colours it.
	Style ActionStyle
}

// IsZero reports an empty reply.
func (r Reply) IsZero() bool {
	return r.Title == "" && r.Text == "" && r.Code == "" && r.Markdown == "" && len(r.Fields) == 0 && len(r.Links) == 0
}

// Plain renders the reply as readable plain text; the terminal adapter uses
// it and other adapters may use it as a notification fallback.
func (r Reply) Plain() string {
	var b strings.Builder
	if r.Title != "" {
		b.WriteString(r.Status.Emoji())
		b.WriteString(" ")
		b.WriteString(r.Title)
		b.WriteString("\n")
	}
	if r.Text != "" {
		b.WriteString(r.Text)
		b.WriteString("\n")
	}
	for _, f := range r.Fields {
		b.WriteString(f.Name)
		b.WriteString(": ")
		b.WriteString(f.Value)
		b.WriteString("\n")
	}
	if md := strings.Trim(r.Markdown, "\n"); md != "" {
		// Markdown source is meant to read well as it is; blank lines set
		// the document apart from the reply's own lines.
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(md)
		b.WriteString("\n")
		if r.Code != "" || len(r.Links) > 0 {
			b.WriteString("\n")
		}
	}
	if r.Code != "" {
		if r.CodeNote != "" {
			b.WriteString("(" + r.CodeNote + ")\n")
		}
		b.WriteString(indent(r.Code, "  | "))
		b.WriteString("\n")
	}
	for _, l := range r.Links {
		if l.Label != "" {
			b.WriteString(l.Label)
			b.WriteString(": ")
		}
		b.WriteString(l.URL)
		b.WriteString("\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}

// TailCut shortens s to at most max runes by dropping whole lines from the
// start (the end of output matters most). It returns the kept text and how
// many lines were dropped. A single line longer than max keeps its last
// max runes. It never splits a UTF-8 sequence.
func TailCut(s string, max int) (kept string, droppedLines int) {
	if max <= 0 {
		return "", strings.Count(s, "\n") + 1
	}
	if utf8.RuneCountInString(s) <= max {
		return s, 0
	}
	// Walk back from the end counting runes until the budget is spent.
	n := 0
	cut := len(s)
	for cut > 0 && n < max {
		_, size := utf8.DecodeLastRuneInString(s[:cut])
		cut -= size
		n++
	}
	// Prefer to start at a line boundary inside the kept part.
	if i := strings.IndexByte(s[cut:], '\n'); i >= 0 && i+1 < len(s)-cut {
		cut += i + 1
	}
	return s[cut:], strings.Count(s[:cut], "\n")
}
