package shell

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/chatops-dev/chatops/adapters/internal/mdoc"
)

// More SGR sequences, each with its own end so that nesting keeps the
// outer attribute (a reset would end them all).
const (
	boldOff      = "\x1b[22m"
	italic       = "\x1b[3m"
	italicOff    = "\x1b[23m"
	underline    = "\x1b[4m"
	underlineOff = "\x1b[24m"
	strike       = "\x1b[9m"
	strikeOff    = "\x1b[29m"
	colorOff     = "\x1b[39m"
)

// renderMarkdown renders a job's Markdown as terminal text: headings
// underlined (= and -, or bold and underlined in colour), lists with
// bullets, quotes behind a bar, code blocks behind "  | " as the reply's
// code, tables in aligned columns, links as "label <url>". Without
// colour, emphasis keeps its Markdown marks, which read well as they are.
// Control characters of the job's are dropped: it may not drive the
// terminal.
func renderMarkdown(src string, color bool) string {
	doc := mdoc.Parse(src)
	out := (&termWriter{color: color}).blocks(doc.Children, false)
	if doc.Truncated {
		out += "\n\n… (the rest was too long to show)"
	}
	return out
}

type termWriter struct {
	color bool
	// Inside bold, italic or strike: marks that cannot nest in themselves.
	bold, em, strike bool
}

func (w *termWriter) blocks(ns []*mdoc.Node, inItem bool) string {
	var parts []string
	for _, n := range ns {
		if s := w.block(n); s != "" {
			parts = append(parts, s)
		}
	}
	sep := "\n\n"
	if inItem {
		sep = "\n"
	}
	return strings.Join(parts, sep)
}

func (w *termWriter) block(n *mdoc.Node) string {
	switch n.Kind {
	case mdoc.Paragraph:
		return w.inlines(n.Children)
	case mdoc.Heading:
		if w.color {
			w.bold = true
			s := w.inlines(n.Children)
			w.bold = false
			if n.Level <= 2 {
				return bold + underline + s + underlineOff + boldOff
			}
			return bold + s + boldOff
		}
		s := w.inlines(n.Children)
		mark := "-"
		if n.Level == 1 {
			mark = "="
		}
		return s + "\n" + strings.Repeat(mark, max(mdoc.Width(s), 3))
	case mdoc.Quote:
		return mdoc.PrefixLines(w.blocks(n.Children, false), "│ ", "│")
	case mdoc.List:
		return w.list(n, 0)
	case mdoc.CodeBlock:
		return mdoc.PrefixLines(clean(strings.TrimSuffix(n.Text, "\n"), true), "  | ", "  |")
	case mdoc.Rule:
		return strings.Repeat("─", 20)
	case mdoc.Table:
		t := clean(mdoc.AlignedTable(n), true)
		if w.color {
			head, rest, _ := strings.Cut(t, "\n")
			return bold + head + boldOff + "\n" + rest
		}
		return t
	}
	return ""
}

// list renders a list, nested lists one step deeper in bullets.
func (w *termWriter) list(n *mdoc.Node, depth int) string {
	items := make([]string, len(n.Children))
	for i, it := range n.Children {
		marker := mdoc.Bullet(depth) + " "
		if n.Ordered {
			marker = fmt.Sprintf("%d. ", n.Start+i)
		}
		var parts []string
		for _, c := range it.Children {
			var s string
			if c.Kind == mdoc.List {
				s = w.list(c, depth+1)
			} else {
				s = w.block(c)
			}
			if s != "" {
				parts = append(parts, s)
			}
		}
		items[i] = mdoc.ListItem(marker, strings.Join(parts, "\n"), strings.Repeat(" ", mdoc.Width(marker)))
	}
	return strings.Join(items, "\n")
}

func (w *termWriter) inlines(ns []*mdoc.Node) string {
	var b strings.Builder
	w.inline(&b, ns)
	return b.String()
}

func (w *termWriter) inline(b *strings.Builder, ns []*mdoc.Node) {
	for _, n := range ns {
		switch n.Kind {
		case mdoc.Text:
			b.WriteString(clean(n.Text, false))
		case mdoc.Code:
			if w.color {
				b.WriteString(cyan + clean(n.Text, false) + colorOff)
			} else {
				b.WriteString("`" + clean(n.Text, false) + "`")
			}
		case mdoc.Emphasis:
			w.wrap(b, &w.em, "*", italic, italicOff, n.Children)
		case mdoc.Strong:
			w.wrap(b, &w.bold, "**", bold, boldOff, n.Children)
		case mdoc.Strike:
			w.wrap(b, &w.strike, "~~", strike, strikeOff, n.Children)
		case mdoc.Link:
			label := w.inlines(n.Children)
			if w.color {
				label = underline + label + underlineOff
			}
			if text := mdoc.Plain(n.Children); text == n.URL || "mailto:"+text == n.URL {
				b.WriteString(label)
			} else {
				b.WriteString(label + " <" + clean(n.URL, false) + ">")
			}
		case mdoc.Break:
			b.WriteString("\n")
		}
	}
}

// wrap renders children with an attribute on (in colour) or between
// marks, unless *on says it is already on.
func (w *termWriter) wrap(b *strings.Builder, on *bool, mark, sgrOn, sgrOff string, children []*mdoc.Node) {
	s, _ := mdoc.Mark(on, func() string { return w.inlines(children) }, func(s string) string {
		if w.color {
			return sgrOn + s + sgrOff
		}
		return mark + s + mark
	})
	b.WriteString(s)
}

// clean drops control characters (escape sequences start with one),
// keeping tabs, and newlines when keepLines is set.
func clean(s string, keepLines bool) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t', r == '\n' && keepLines:
			return r
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, s)
}
