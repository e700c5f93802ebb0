package slack

import (
	"fmt"
	"strings"

	"github.com/chatops-dev/chatops/adapters/internal/mdoc"
)

// mdCutNote ends Markdown that was cut to fit the message.
const mdCutNote = "_… (the rest was too long for Slack)_"

// toMrkdwn converts a job's Markdown document to Slack mrkdwn: *bold*,
// _italic_, ~strike~, `code`, ``` blocks, > quotes, <url|text> links,
// lists as "•" (then "◦", "▪") and "1." lines, headings as bold lines,
// tables as aligned text in a code block, rules as a line. All text is
// escaped (& < >), so no <!channel>, <!here>, <@U…> or <!subteam^…> of
// the job's reaches Slack as markup, and its bare @mentions outside code
// are defused (see escapeText).
func toMrkdwn(d *mdoc.Node) string { return (&mrkdwnWriter{}).blocks(d.Children, 0) }

// mrkdwnWriter renders blocks line by line, containers prefixing their
// children's lines, as the chat markdown writer does.
type mrkdwnWriter struct {
	// Inline state: inside bold, italic or strike (their marks cannot
	// nest in themselves), at the start of a line.
	bold, em, strike, bol bool
}

func (w *mrkdwnWriter) blocks(ns []*mdoc.Node, depth int) string {
	var parts []string
	for _, n := range ns {
		if s := w.block(n, depth); s != "" {
			parts = append(parts, s)
		}
	}
	sep := "\n\n"
	if depth > 0 {
		sep = "\n" // inside a list item: keep the list tight
	}
	return strings.Join(parts, sep)
}

func (w *mrkdwnWriter) block(n *mdoc.Node, depth int) string {
	switch n.Kind {
	case mdoc.Paragraph:
		return w.inlines(n.Children)
	case mdoc.Heading:
		w.bold = true
		s := w.inlines(n.Children)
		w.bold = false
		if strings.TrimSpace(s) == "" {
			return s
		}
		return "*" + s + "*"
	case mdoc.Quote:
		return mdoc.PrefixLines(w.blocks(n.Children, 0), "> ", ">")
	case mdoc.List:
		items := make([]string, len(n.Children))
		for i, it := range n.Children {
			marker := mdoc.Bullet(depth) + " "
			if n.Ordered {
				marker = fmt.Sprintf("%d. ", n.Start+i)
			}
			items[i] = mdoc.ListItem(marker, w.blocks(it.Children, depth+1), "    ")
		}
		return strings.Join(items, "\n")
	case mdoc.CodeBlock:
		return fence(strings.TrimSuffix(n.Text, "\n"))
	case mdoc.Rule:
		return "──────────"
	case mdoc.Table:
		return fence(mdoc.AlignedTable(n))
	}
	return ""
}

func (w *mrkdwnWriter) inlines(ns []*mdoc.Node) string {
	var b strings.Builder
	w.bol = true
	w.inline(&b, ns)
	return b.String()
}

func (w *mrkdwnWriter) inline(b *strings.Builder, ns []*mdoc.Node) {
	for _, n := range ns {
		switch n.Kind {
		case mdoc.Text:
			s := escapeText(defang(n.Text))
			if w.bol && strings.HasPrefix(s, "&gt;") {
				// Slack reads an escaped > starting a line as a quote.
				s = "\u200b" + s
			}
			if s != "" {
				b.WriteString(s)
				w.bol = false
			}
		case mdoc.Code:
			// A code span ends at the next backtick, and mrkdwn has no
			// escape: a backtick inside shows as a look-alike.
			b.WriteString("`" + escapeMrkdwn(strings.ReplaceAll(n.Text, "`", "ˋ")) + "`")
			w.bol = false
		case mdoc.Emphasis:
			w.wrap(b, &w.em, "_", n.Children)
		case mdoc.Strong:
			w.wrap(b, &w.bold, "*", n.Children)
		case mdoc.Strike:
			w.wrap(b, &w.strike, "~", n.Children)
		case mdoc.Link:
			// Slack formats no markup inside a link's text.
			label := strings.TrimSpace(mdoc.Plain(n.Children))
			if label == "" || label == n.URL {
				b.WriteString("<" + linkURL(n.URL) + ">")
			} else {
				b.WriteString("<" + linkURL(n.URL) + "|" + linkLabel(label) + ">")
			}
			w.bol = false
		case mdoc.Break:
			b.WriteString("\n")
			w.bol = true
		}
	}
}

// wrap renders children between marks, unless *on says the marks are
// already open or there is nothing to mark.
func (w *mrkdwnWriter) wrap(b *strings.Builder, on *bool, mark string, children []*mdoc.Node) {
	b.WriteString(mdoc.MarkInline(on, &w.bol, mark, func() string {
		var inner strings.Builder
		w.inline(&inner, children)
		return inner.String()
	}))
}
