// Package markdown renders a bot.Reply as chat markdown (the dialect
// Mattermost and Discord share: headings, bold, fenced code, masked links)
// that fits one message of a platform's size, so that progress edits can
// replace it whole. A reply's Markdown, written by a job, is parsed
// (package mdoc) and written again in the platform's dialect, so that it
// formats as its author meant but can neither mention anyone nor break
// the message.
package markdown

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/chatops-dev/chatops/bot"
)

var mdEscaper = strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "~", `\~`, "`", "\\`", "[", `\[`, "]", `\]`, "#", `\#`, "|", `\|`)

// Options tune the rendering to a platform.
type Options struct {
	// Limit is the message size in runes.
	Limit int
	// Heading is the heading level of the title (1–6, default 4).
	// Mattermost renders up to ######; Discord renders only #, ## and ###,
	// and shows deeper ones literally.
	Heading int
	// MaxHeading is the deepest heading level of the platform (default
	// 6): deeper headings in a reply's Markdown become bold lines.
	MaxHeading int
	// Tables says the platform renders GitHub's tables; without, a table
	// in a reply's Markdown becomes a code block of aligned columns.
	Tables bool
	// Rules says the platform renders thematic breaks (---); without, a
	// line of box-drawing characters takes their place.
	Rules bool
	// DefuseMentions follows the @ of every mention with a zero-width
	// joiner, for platforms that notify whoever a message's text names
	// (Mattermost): every @ in a reply's Markdown, and every @ starting a
	// word in the rest (title, text, fields, link labels), which echo
	// names users, jobs and GitLab chose (an issue's assignee, a
	// pipeline's author, a user's arguments) and the bot never means to
	// page anyone. Code spans and blocks need none.
	DefuseMentions bool
	// Self is the bot's own username: with DefuseMentions, "@Self" in the
	// bot's text stays as written, so that help's "@chatops run …" can be
	// copied and sent (it notifies nobody but the bot).
	Self string
}

// Render formats a reply as markdown of at most limit runes with a level 4
// title (see RenderWith).
func Render(r bot.Reply, limit int) string { return RenderWith(r, Options{Limit: limit}) }

// RenderWith formats a reply as markdown of at most o.Limit runes: when it
// would not fit, the code block keeps its tail (the end of a log matters
// most) and says how many lines were cut; prose that alone is too long
// keeps its start.
func RenderWith(r bot.Reply, o Options) string {
	limit := o.Limit
	if o.Heading < 1 || o.Heading > 6 {
		o.Heading = 4
	}
	if o.MaxHeading < 1 || o.MaxHeading > 6 {
		o.MaxHeading = 6
	}
	head, tail := renderFrame(r, o)
	if r.Markdown != "" {
		// The Markdown takes what the frame leaves (half of it when there
		// is code too), so only the frame is ever cut by runes below.
		room := limit - utf8.RuneCountInString(join(head, tail)) - 2
		if r.Code != "" {
			room /= 2
		}
		head = joinPara(head, renderMarkdown(r.Markdown, o, room))
		if tail != "" {
			// A blank line, so that the links cannot continue the
			// Markdown's last list item or quote.
			tail = "\n" + tail
		}
	}
	if r.Code == "" {
		return cutHead(join(head, tail), limit)
	}
	fence := fenceFor(r.Code)
	note := r.CodeNote
	frame := utf8.RuneCountInString(join(head, tail)) + 2*len(fence) + 8
	budget := limit - frame - 80 // room for the cut note
	code := strings.TrimRight(r.Code, "\n")
	if floor := min(200, limit/4); budget < floor {
		// The prose alone nearly fills the message: shorten it first.
		head = cutHead(head, utf8.RuneCountInString(head)-(floor-budget))
		budget = floor
	}
	if kept, dropped := bot.TailCut(code, budget); dropped > 0 || kept != code {
		code = kept
		cut := fmt.Sprintf("%d earlier lines cut", dropped)
		if dropped == 0 {
			cut = "start of the output cut"
		}
		if note != "" {
			note += "; " + cut
		} else {
			note = cut
		}
	}
	block := fence + "\n" + code + "\n" + fence
	if note != "" {
		block = "_" + o.text(note) + "_\n" + block
	}
	body := join(head, block)
	return cutHead(join(body, tail), limit)
}

// text escapes the bot's plain text for markdown and, where the platform
// notifies from text, defuses its mentions.
func (o Options) text(s string) string {
	if o.DefuseMentions {
		// Before escaping, so that the name is read as the server will
		// read it ("@chatops\_x" is the word "@chatops_x").
		s = defuseMentions(s, o.Self)
	}
	return mdEscaper.Replace(s)
}

// renderFrame renders everything but the code: title, text and fields
// before it, links after it.
func renderFrame(r bot.Reply, o Options) (head, tail string) {
	var h []string
	if r.Title != "" {
		h = append(h, strings.Repeat("#", o.Heading)+" "+r.Status.Emoji()+" "+o.text(r.Title))
	}
	if r.Text != "" {
		h = append(h, o.text(r.Text))
	}
	if len(r.Fields) > 0 {
		fs := make([]string, len(r.Fields))
		for i, f := range r.Fields {
			fs[i] = "**" + o.text(f.Name) + ":** " + o.text(f.Value)
		}
		h = append(h, strings.Join(fs, " · "))
	}
	var ls []string
	for _, l := range r.Links {
		label := l.Label
		if label == "" {
			label = l.URL
		}
		ls = append(ls, "["+o.text(label)+"]("+l.URL+")")
	}
	return strings.Join(h, "\n"), strings.Join(ls, " · ")
}

// joinPara joins blocks of markdown with a blank line, so that a block
// starting the second is not read as the end of the first.
func joinPara(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "\n\n" + b
}

func join(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "\n" + b
}

// fenceFor returns a backtick fence longer than any backtick run in code,
// so output containing ``` cannot end the block early.
func fenceFor(code string) string {
	return strings.Repeat("`", max(3, longestBacktickRun(code)+1))
}

// longestBacktickRun is the length of the longest run of backticks in s:
// a fence or code span delimiter must be longer to hold s.
func longestBacktickRun(s string) int {
	longest, run := 0, 0
	for _, c := range s {
		if c == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return longest
}

// cutHead keeps the start of s within limit runes, marking the cut.
func cutHead(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	const mark = "\n… (cut: too long for one message)"
	r := []rune(s)
	return string(r[:max(0, limit-utf8.RuneCountInString(mark))]) + mark
}
