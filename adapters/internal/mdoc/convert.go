package mdoc

import (
	"bufio"
	"bytes"
	"fmt"
	"html"
	"net/url"
	"strings"

	"github.com/yuin/goldmark/ast"
	east "github.com/yuin/goldmark/extension/ast"
	ghtml "github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/util"
)

// From goldmark's AST to the tree: what each Markdown construct becomes,
// which links are kept, and how raw HTML turns into text.

type converter struct {
	source []byte
	inLink int // links cannot nest: a link inside a label is its label
	// blockDepth and inlineDepth count the quotes and lists, and the
	// emphasis, strike and links, that enclose what is being converted.
	blockDepth, inlineDepth int
}

// MaxDepth is how deeply quotes and lists, and emphasis, strike and
// links, nest in a tree: deeper ones give their content to the enclosing
// one. A chat shows a few levels at most, and renderers prefix every
// line of a container, so a job's 30,000 nested list markers on one line
// (60 KB) would otherwise cost seconds of CPU and gigabytes of garbage
// to render.
const MaxDepth = 16

// blocks converts the block children of n. At MaxDepth a quote or list
// is not nested further: its blocks (a list's items' blocks) take its
// place.
func (c *converter) blocks(n ast.Node) []*Node {
	var out []*Node
	for ch := n.FirstChild(); ch != nil; ch = ch.NextSibling() {
		switch ch.Kind() {
		case ast.KindBlockquote, ast.KindList:
			if c.blockDepth >= MaxDepth {
				if ch.Kind() == ast.KindList {
					for it := ch.FirstChild(); it != nil; it = it.NextSibling() {
						out = append(out, c.blocks(it)...)
					}
				} else {
					out = append(out, c.blocks(ch)...)
				}
				continue
			}
			c.blockDepth++
			b := c.block(ch)
			c.blockDepth--
			if b != nil {
				out = append(out, b)
			}
			continue
		}
		if b := c.block(ch); b != nil {
			out = append(out, b)
		}
	}
	return out
}

func (c *converter) block(n ast.Node) *Node {
	switch n := n.(type) {
	case *ast.Paragraph, *ast.TextBlock:
		return nonEmpty(&Node{Kind: Paragraph, Children: c.inlines(n)})
	case *ast.Heading:
		return nonEmpty(&Node{Kind: Heading, Level: min(max(n.Level, 1), 6), Children: c.inlines(n)})
	case *ast.Blockquote:
		return &Node{Kind: Quote, Children: c.blocks(n)}
	case *ast.List:
		l := &Node{Kind: List, Ordered: n.IsOrdered(), Start: n.Start}
		if l.Ordered && l.Start < 0 {
			l.Start = 1
		}
		for it := n.FirstChild(); it != nil; it = it.NextSibling() {
			l.Children = append(l.Children, &Node{Kind: Item, Children: c.blocks(it)})
		}
		return l
	case *ast.FencedCodeBlock:
		info := ""
		if lang := n.Language(c.source); lang != nil {
			info = string(lang)
		}
		return &Node{Kind: CodeBlock, Info: info, Text: c.lines(n)}
	case *ast.CodeBlock:
		return &Node{Kind: CodeBlock, Text: c.lines(n)}
	case *ast.ThematicBreak:
		return &Node{Kind: Rule}
	case *ast.HTMLBlock:
		return c.htmlBlock(n)
	case *east.Table:
		t := &Node{Kind: Table}
		for _, a := range n.Alignments {
			t.Align = append(t.Align, align(a))
		}
		for r := n.FirstChild(); r != nil; r = r.NextSibling() {
			row := &Node{Kind: Row}
			for cell := r.FirstChild(); cell != nil; cell = cell.NextSibling() {
				row.Children = append(row.Children, &Node{Kind: Cell, Children: c.inlines(cell)})
			}
			t.Children = append(t.Children, row)
		}
		return t
	}
	// Anything else is a block an extension added: keep what it says.
	if n.Type() == ast.TypeBlock && n.FirstChild() != nil && n.FirstChild().Type() == ast.TypeInline {
		return nonEmpty(&Node{Kind: Paragraph, Children: c.inlines(n)})
	}
	return nil
}

func align(a east.Alignment) Align {
	switch a {
	case east.AlignLeft:
		return AlignLeft
	case east.AlignCenter:
		return AlignCenter
	case east.AlignRight:
		return AlignRight
	}
	return AlignNone
}

// lines returns a code block's content, each line ending in "\n".
func (c *converter) lines(n ast.Node) string {
	var b strings.Builder
	ls := n.Lines()
	for i := range ls.Len() {
		seg := ls.At(i)
		b.Write(seg.Value(c.source))
	}
	s := b.String()
	if s != "" && !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return s
}

// htmlBlock shows raw HTML as the text it is (chats render no HTML), one
// line per line; comments are the author's notes to themselves and are
// dropped.
func (c *converter) htmlBlock(n *ast.HTMLBlock) *Node {
	if n.HTMLBlockType == ast.HTMLBlockType2 {
		return nil
	}
	s := c.lines(n)
	if n.HasClosure() {
		s += string(n.ClosureLine.Value(c.source))
	}
	p := &Node{Kind: Paragraph}
	for i, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if i > 0 {
			p.Children = append(p.Children, &Node{Kind: Break})
		}
		if line = strings.TrimSpace(line); line != "" {
			p.Children = append(p.Children, &Node{Kind: Text, Text: line})
		}
	}
	return nonEmpty(p)
}

// inlines converts the inline children of n, merging adjacent text.
func (c *converter) inlines(n ast.Node) []*Node {
	var out []*Node
	add := func(x *Node) {
		if x == nil {
			return
		}
		if x.Kind == Text {
			if x.Text == "" {
				return
			}
			if k := len(out); k > 0 && out[k-1].Kind == Text {
				out[k-1] = &Node{Kind: Text, Text: out[k-1].Text + x.Text}
				return
			}
		}
		out = append(out, x)
	}
	for ch := n.FirstChild(); ch != nil; ch = ch.NextSibling() {
		for _, x := range c.inline(ch) {
			add(x)
		}
	}
	return out
}

func (c *converter) inline(n ast.Node) []*Node {
	switch n := n.(type) {
	case *ast.Text:
		var s string
		if n.IsRaw() {
			s = string(n.Segment.Value(c.source))
		} else {
			s = unescape(n.Segment.Value(c.source))
		}
		out := []*Node{{Kind: Text, Text: s}}
		switch {
		case n.HardLineBreak():
			out = append(out, &Node{Kind: Break})
		case n.SoftLineBreak():
			// CommonMark (and GitLab) show a soft line break as a space.
			out = append(out, &Node{Kind: Text, Text: " "})
		}
		return out
	case *ast.String:
		if n.IsCode() || n.IsRaw() {
			return []*Node{{Kind: Text, Text: string(n.Value)}}
		}
		return []*Node{{Kind: Text, Text: unescape(n.Value)}}
	case *ast.CodeSpan:
		var b strings.Builder
		for ch := n.FirstChild(); ch != nil; ch = ch.NextSibling() {
			if t, ok := ch.(*ast.Text); ok {
				b.Write(bytes.ReplaceAll(t.Segment.Value(c.source), []byte("\n"), []byte(" ")))
			} else if s, ok := ch.(*ast.String); ok {
				b.Write(s.Value)
			}
		}
		return []*Node{{Kind: Code, Text: b.String()}}
	case *ast.Emphasis:
		k := Emphasis
		if n.Level >= 2 {
			k = Strong
		}
		return c.nested(k, n)
	case *east.Strikethrough:
		return c.nested(Strike, n)
	case *ast.Link:
		return c.link(n.Destination, c.label(n), true)
	case *ast.Image:
		label := c.label(n)
		if len(label) == 0 {
			label = []*Node{{Kind: Text, Text: "image"}}
		}
		return c.link(n.Destination, label, true)
	case *ast.AutoLink:
		u := n.URL(c.source)
		if n.AutoLinkType == ast.AutoLinkEmail && !bytes.HasPrefix(bytes.ToLower(u), []byte("mailto:")) {
			u = append([]byte("mailto:"), u...)
		} else if n.AutoLinkType == ast.AutoLinkURL && bytes.HasPrefix(bytes.ToLower(u), []byte("www.")) {
			u = append([]byte("http://"), u...)
		}
		return c.link(u, []*Node{{Kind: Text, Text: string(n.Label(c.source))}}, false)
	case *ast.RawHTML:
		var b strings.Builder
		for i := range n.Segments.Len() {
			seg := n.Segments.At(i)
			b.Write(seg.Value(c.source))
		}
		s := b.String()
		if strings.HasPrefix(s, "<!--") {
			return nil
		}
		return []*Node{{Kind: Text, Text: strings.Join(strings.Fields(s), " ")}}
	case *east.TaskCheckBox:
		if n.IsChecked {
			return []*Node{{Kind: Text, Text: "☑ "}}
		}
		return []*Node{{Kind: Text, Text: "☐ "}}
	}
	// An inline of an extension: keep its text.
	return c.inlines(n)
}

// nested converts n's inlines marked as k, or, at MaxDepth, unmarked.
func (c *converter) nested(k Kind, n ast.Node) []*Node {
	if c.inlineDepth >= MaxDepth {
		return c.inlines(n)
	}
	c.inlineDepth++
	defer func() { c.inlineDepth-- }()
	return wrap(k, c.inlines(n))
}

// label converts a link's label, in which links are their labels.
func (c *converter) label(n ast.Node) []*Node {
	c.inLink++
	defer func() { c.inLink-- }()
	return c.inlines(n)
}

func wrap(k Kind, children []*Node) []*Node {
	if len(children) == 0 {
		return nil
	}
	return []*Node{{Kind: k, Children: children}}
}

// link makes a Link of a safe destination, and shows the label alone
// otherwise (a relative link has nothing to be relative to in a chat).
func (c *converter) link(dest []byte, label []*Node, resolve bool) []*Node {
	if c.inLink > 0 {
		return label
	}
	u, ok := SafeURL(string(util.URLEscape(dest, resolve)))
	if !ok || len(label) == 0 {
		return label
	}
	return []*Node{{Kind: Link, URL: u, Children: label}}
}

// SafeURL returns u when it is an absolute http or https URL with a host,
// or a mailto URL, percent-encoding what would end a Markdown link
// destination early (spaces, parentheses, angle brackets) or hide in
// one (control characters); ok is false for every other URL.
func SafeURL(u string) (safe string, ok bool) {
	p, err := url.Parse(u)
	if err != nil {
		return "", false
	}
	switch strings.ToLower(p.Scheme) {
	case "http", "https":
		if p.Host == "" || p.User != nil {
			// user@host in a link is a classic disguise, never needed here.
			return "", false
		}
	case "mailto":
		if p.Opaque == "" {
			return "", false
		}
	default:
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(u); i++ {
		if c := u[i]; c <= ' ' || c == 0x7f || strings.IndexByte("()<>`\"\\|", c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

func nonEmpty(n *Node) *Node {
	if len(n.Children) == 0 {
		return nil
	}
	return n
}

var htmlWriter = ghtml.NewWriter()

// unescape resolves backslash escapes and entity and numeric character
// references in text exactly as goldmark's HTML renderer does, by letting
// it write HTML and decoding that.
func unescape(b []byte) string {
	if bytes.IndexByte(b, '\\') < 0 && bytes.IndexByte(b, '&') < 0 {
		return string(b)
	}
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	htmlWriter.Write(w, b)
	_ = w.Flush() // a bytes.Buffer takes everything
	return html.UnescapeString(buf.String())
}
