package markdown

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/chatops-dev/chatops/adapters/internal/mdoc"
)

// mdCutNote ends Markdown content that was cut to fit the message, as a
// paragraph of its own in italics.
const mdCutNote = "*… (cut: too long for one message)*"

// renderMarkdown renders job-written Markdown within limit runes in the
// dialect o describes, keeping its start when it does not fit (see
// mdoc.Fit): whole blocks, lines and words, so a cut never leaves a
// fence open or a character in two.
func renderMarkdown(src string, o Options, limit int) string {
	if limit <= 0 {
		return ""
	}
	doc := mdoc.Parse(src)
	out, _ := mdoc.Fit(doc, func(d *mdoc.Node, cut bool) string {
		s := (&writer{o: o}).blocks(d.Children, false)
		if cut {
			s = joinPara(s, mdCutNote)
		}
		return s
	}, func(s string) bool { return utf8.RuneCountInString(s) <= limit })
	return out
}

// writer renders a document in a chat's Markdown dialect. Every line of
// the output is whole: containers prefix their children's lines (quotes
// with "> ", list items with the item's indentation), so nesting needs
// no state beyond the inline state below.
type writer struct {
	o Options
	// Inline state: the text is at the start of a line (where "-" or
	// "1." would start a list), inside bold, italic, strike or a table
	// cell.
	bol, bold, em, strike, cell bool
}

// blocks renders blocks, separated by blank lines at the top and where
// needed inside list items (a paragraph after a paragraph), by a line
// break elsewhere so that lists stay tight.
func (w *writer) blocks(ns []*mdoc.Node, inItem bool) string {
	var b strings.Builder
	for _, n := range ns {
		s := w.block(n)
		if s == "" {
			continue
		}
		if b.Len() > 0 {
			if inItem && interrupts(n) {
				b.WriteString("\n")
			} else {
				b.WriteString("\n\n")
			}
		}
		b.WriteString(s)
	}
	return b.String()
}

// interrupts reports blocks that may follow a paragraph on the next line
// without ending up inside it.
func interrupts(n *mdoc.Node) bool {
	switch n.Kind {
	case mdoc.CodeBlock, mdoc.Quote, mdoc.Heading:
		return true
	case mdoc.List:
		return !n.Ordered || n.Start == 1
	}
	return false
}

func (w *writer) block(n *mdoc.Node) string {
	switch n.Kind {
	case mdoc.Paragraph:
		return w.inlines(n.Children)
	case mdoc.Heading:
		if n.Level <= w.o.MaxHeading {
			return strings.Repeat("#", n.Level) + " " + w.inlines(n.Children)
		}
		// A level the platform shows literally: a bold line instead.
		w.bold = true
		s := w.inlines(n.Children)
		w.bold = false
		return "**" + s + "**"
	case mdoc.Quote:
		return mdoc.PrefixLines(w.blocks(n.Children, false), "> ", ">")
	case mdoc.List:
		return w.list(n)
	case mdoc.CodeBlock:
		code := strings.TrimSuffix(n.Text, "\n")
		fence := fenceFor(code)
		return fence + infoWord(n.Info) + "\n" + code + "\n" + fence
	case mdoc.Rule:
		if w.o.Rules {
			return "---"
		}
		return "──────────"
	case mdoc.Table:
		if w.o.Tables {
			return w.table(n)
		}
		s := mdoc.AlignedTable(n)
		fence := fenceFor(s)
		return fence + "\n" + s + "\n" + fence
	}
	return ""
}

func (w *writer) list(n *mdoc.Node) string {
	items := make([]string, len(n.Children))
	for i, it := range n.Children {
		marker := "- "
		if n.Ordered {
			marker = fmt.Sprintf("%d. ", n.Start+i)
		}
		body := w.blocks(it.Children, true)
		if body == "" {
			body = "\u200b" // an empty item still shows its marker
		}
		// The item's lines after the first are indented to the marker's
		// width, which keeps them inside the item.
		items[i] = mdoc.ListItem(marker, body, strings.Repeat(" ", len(marker)))
	}
	return strings.Join(items, "\n")
}

// table renders a GFM table; a cell's line breaks become spaces.
func (w *writer) table(n *mdoc.Node) string {
	var b strings.Builder
	cols := len(n.Align)
	for i, row := range n.Children {
		b.WriteString("|")
		for c := range cols {
			cell := ""
			if c < len(row.Children) {
				w.cell = true
				cell = w.inlines(row.Children[c].Children)
				w.cell = false
			}
			b.WriteString(" " + cell + " |")
		}
		b.WriteString("\n")
		if i == 0 {
			b.WriteString("|")
			for _, a := range n.Align {
				b.WriteString(" " + delimiter(a) + " |")
			}
			b.WriteString("\n")
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// delimiter is a GFM table's delimiter cell for an alignment.
func delimiter(a mdoc.Align) string {
	switch a {
	case mdoc.AlignLeft:
		return ":--"
	case mdoc.AlignCenter:
		return ":-:"
	case mdoc.AlignRight:
		return "--:"
	}
	return "---"
}

// inlines renders inline content starting a line.
func (w *writer) inlines(ns []*mdoc.Node) string {
	var b strings.Builder
	w.bol = true
	w.inline(&b, ns)
	return b.String()
}

func (w *writer) inline(b *strings.Builder, ns []*mdoc.Node) {
	for _, n := range ns {
		switch n.Kind {
		case mdoc.Text:
			s := w.escape(n.Text)
			if s != "" {
				b.WriteString(s)
				w.bol = false
			}
		case mdoc.Code:
			text := n.Text
			if w.cell {
				// GFM splits a row at every unescaped pipe, code or not.
				text = strings.ReplaceAll(text, "|", `\|`)
			}
			b.WriteString(codeSpan(text))
			w.bol = false
		case mdoc.Emphasis:
			w.wrap(b, &w.em, "*", n.Children)
		case mdoc.Strong:
			w.wrap(b, &w.bold, "**", n.Children)
		case mdoc.Strike:
			w.wrap(b, &w.strike, "~~", n.Children)
		case mdoc.Link:
			b.WriteString("[")
			w.bol = false
			w.inline(b, n.Children)
			b.WriteString("](" + n.URL + ")")
		case mdoc.Break:
			if w.cell {
				b.WriteString(" ")
				continue
			}
			b.WriteString("\n")
			w.bol = true
		}
	}
}

// wrap renders children between marks, unless *on says the marks are
// already open (emphasis inside emphasis) or there is nothing to mark.
func (w *writer) wrap(b *strings.Builder, on *bool, mark string, children []*mdoc.Node) {
	b.WriteString(mdoc.MarkInline(on, &w.bol, mark, func() string {
		var inner strings.Builder
		w.inline(&inner, children)
		return inner.String()
	}))
}

// textEscaper escapes what the Mattermost and Discord dialects would read
// as markup anywhere in a line (& as it starts a character reference, <
// and > as they start HTML, autolinks and, on Discord, mentions).
var textEscaper = strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "~", `\~`, "`", "\\`", "[", `\[`, "]", `\]`,
	"#", `\#`, "|", `\|`, "<", `\<`, ">", `\>`, "&", `\&`, "\n", " ")

// escape makes text literal: markup characters are escaped, what would
// start a block at the start of a line (a list, a setext underline) too,
// and, where the platform notifies from text, every @ is followed by a
// zero-width joiner so no @name, @channel or @all is ever a mention.
func (w *writer) escape(s string) string {
	s = textEscaper.Replace(s)
	if w.bol && !w.cell && s != "" {
		switch s[0] {
		case '-', '+', '=':
			s = `\` + s
		default:
			i := 0
			for i < len(s) && i < 9 && s[i] >= '0' && s[i] <= '9' {
				i++
			}
			if i > 0 && i < len(s) && (s[i] == '.' || s[i] == ')') && (i+1 == len(s) || s[i+1] == ' ' || s[i+1] == '\t') {
				s = s[:i] + `\` + s[i:]
			}
		}
	}
	if w.o.DefuseMentions {
		s = defuse(s)
	}
	return s
}

// zwj is the zero-width joiner put after @: invisible, and Mattermost
// splits words at it (it is neither a letter nor a digit), so the word
// after it is not a mention.
const zwj = "\u200d"

// defuse follows every @ with a zero-width joiner.
func defuse(s string) string { return strings.ReplaceAll(s, "@", "@"+zwj) }

// defuseMentions follows with a zero-width joiner every @ that starts a
// word as Mattermost reads words (it splits text at anything but letters,
// digits and ". - _ : @", trims ". - _ :" from a word's start and also
// tries its parts split at ". - :"), so an @ after a letter or digit
// ("deploy@main", "a@b.io") is left alone, and one after punctuation
// ("x.@all", "_@here") is not. "@self" followed by no more of a word is
// kept: it is the bot's own name.
func defuseMentions(s, self string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	var b strings.Builder
	prev := rune(-1)
	for i, c := range s {
		b.WriteRune(c)
		if c == '@' && !(unicode.IsLetter(prev) || unicode.IsNumber(prev)) && !namesSelf(s[i+1:], self) {
			b.WriteString(zwj)
		}
		prev = c
	}
	return b.String()
}

// DefuseMentions follows with a zero-width joiner every @ in s that starts
// a word, except one naming self ("" for none), so that no @name, @here,
// @channel, @everyone or @all in it notifies anyone on a platform that
// reads mentions from plain text; an @ after a letter or digit ("a@b.io",
// "deploy@main") is left alone. See defuseMentions for the word rules.
func DefuseMentions(s, self string) string { return defuseMentions(s, self) }

// namesSelf says whether rest, the text after an @, is self and then no
// more of a word (". - _ :" may trail it, as at the end of a sentence).
func namesSelf(rest, self string) bool {
	if self == "" || len(rest) < len(self) || !strings.EqualFold(rest[:len(self)], self) {
		return false
	}
	after := strings.TrimLeft(rest[len(self):], ".-_:")
	next, _ := utf8.DecodeRuneInString(after)
	return after == "" || !isWordRune(next)
}

// isWordRune is a character Mattermost keeps inside a word.
func isWordRune(c rune) bool {
	return unicode.IsLetter(c) || unicode.IsNumber(c) || strings.ContainsRune(".-_:@", c)
}

// codeSpan renders text as a code span whose backtick fence is longer
// than any backtick run inside it, padded with a space where the text
// starts or ends with a backtick (or with spaces on both sides, which
// the parser would strip).
func codeSpan(text string) string {
	fence := strings.Repeat("`", longestBacktickRun(text)+1)
	if strings.HasPrefix(text, "`") || strings.HasSuffix(text, "`") ||
		(strings.HasPrefix(text, " ") && strings.HasSuffix(text, " ") && strings.TrimSpace(text) != "") {
		text = " " + text + " "
	}
	return fence + text + fence
}

// infoWord keeps a code block's language if it is one plain word.
func infoWord(info string) string {
	for _, c := range info {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("+-_.#", c)) {
			return ""
		}
	}
	if len(info) > 32 {
		return ""
	}
	return info
}
