package mdoc

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Cutting works on the tree, not on rendered text: a shortened document
// is rendered again from scratch, so whatever is kept is well formed in
// every dialect (fences closed, emphasis ended, no half escape or entity,
// no half character). The tree is measured in units, the places where a
// document may end: after a word of text (or every maxWordRunes of a
// longer one), after a line of code (or every maxLineRunes of a longer
// one), after a table row, a rule or a line break.
const (
	maxWordRunes = 64
	maxLineRunes = 256
)

// Fit renders doc with render and returns the result when fits accepts
// it. Otherwise it returns the rendering of the longest start of doc
// that fits, cut at a unit boundary, with render told that it cut (to
// add its note); cut reports that. A Truncated document counts as cut
// even when it fits whole. When not even an empty start fits, it returns
// "" and true. fits must be monotone: accepting a rendering means
// accepting any shorter start's.
func Fit(doc *Node, render func(d *Node, cut bool) string, fits func(string) bool) (out string, cut bool) {
	if s := render(doc, doc.Truncated); fits(s) {
		return s, doc.Truncated
	}
	total := Units(doc)
	// The largest k whose start fits, by bisection: each step renders once,
	// so a 64 KiB document is rendered about 15 times.
	lo, hi := -1, total // fits(k) for k <= lo; not for k >= hi
	best := ""
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		s := render(Prefix(doc, mid), true)
		if fits(s) {
			lo, best = mid, s
		} else {
			hi = mid
		}
	}
	return best, true
}

// Units counts the places where n may be cut (see Fit).
func Units(n *Node) int {
	switch n.Kind {
	case Text, Code:
		return len(textCuts(n.Text))
	case CodeBlock:
		return len(lineCuts(n.Text))
	case Rule, Break:
		return 1
	case Row:
		return 1
	}
	u := 0
	for _, c := range n.Children {
		u += Units(c)
	}
	return u
}

// Prefix returns a copy of the start of n holding k units: nodes after
// the cut are left out, and containers left empty by it too.
func Prefix(n *Node, k int) *Node {
	p, _, _ := prefix(n, k)
	if p == nil {
		return &Node{Kind: n.Kind}
	}
	return p
}

// prefix returns the start of n with at most k units (nil when nothing
// of n is kept), how many units it holds and whether it is all of n.
func prefix(n *Node, k int) (p *Node, used int, whole bool) {
	switch n.Kind {
	case Text, Code:
		cuts := textCuts(n.Text)
		if k >= len(cuts) {
			return n, len(cuts), true
		}
		if k <= 0 {
			return nil, 0, false
		}
		c := *n
		c.Text = strings.TrimRightFunc(n.Text[:cuts[k-1]], unicode.IsSpace)
		return &c, k, false
	case CodeBlock:
		cuts := lineCuts(n.Text)
		if k >= len(cuts) {
			return n, len(cuts), true
		}
		if k <= 0 {
			return nil, 0, false
		}
		c := *n
		c.Text = n.Text[:cuts[k-1]]
		if !strings.HasSuffix(c.Text, "\n") {
			c.Text += "\n"
		}
		return &c, k, false
	case Rule, Break, Row:
		if k <= 0 {
			return nil, 0, false
		}
		return n, 1, true
	}
	c := *n
	c.Children = nil
	whole = true
	for _, ch := range n.Children {
		cp, u, w := prefix(ch, k-used)
		used += u
		if cp != nil {
			c.Children = append(c.Children, cp)
		}
		if !w {
			whole = false
			break // ch was cut: nothing after it is kept
		}
	}
	switch {
	case whole:
		return n, used, true
	case len(c.Children) == 0:
		return nil, used, false
	case n.Kind == Table && len(c.Children) == 1:
		// A header without a row says nothing.
		return nil, used, false
	}
	return &c, used, false
}

// textCuts returns the byte offsets where a start of s may end: after
// each word, and every maxWordRunes runes inside longer words.
func textCuts(s string) []int {
	var cuts []int
	runes, inWord := 0, false
	for i, r := range s {
		if unicode.IsSpace(r) {
			if inWord {
				cuts = append(cuts, i)
			}
			inWord, runes = false, 0
			continue
		}
		if runes == maxWordRunes {
			cuts = append(cuts, i)
			runes = 0
		}
		inWord = true
		runes++
	}
	if inWord {
		cuts = append(cuts, len(s))
	}
	return cuts
}

// lineCuts returns the byte offsets where a start of a code block may
// end: after each line, and every maxLineRunes runes inside longer lines.
func lineCuts(s string) []int {
	var cuts []int
	runes := 0
	for i, r := range s {
		if r == '\n' {
			cuts = append(cuts, i+1)
			runes = 0
			continue
		}
		if runes == maxLineRunes {
			cuts = append(cuts, i)
			runes = 0
		}
		runes++
	}
	if runes > 0 {
		cuts = append(cuts, len(s))
	}
	return cuts
}

// Plain returns the text of inlines without their markup: a link shows
// its label, a line break a space. Table cells rendered as aligned text
// and link labels in dialects that cannot format them use it.
func Plain(nodes []*Node) string {
	var b strings.Builder
	var walk func([]*Node)
	walk = func(ns []*Node) {
		for _, n := range ns {
			switch n.Kind {
			case Text, Code:
				b.WriteString(n.Text)
			case Break:
				b.WriteByte(' ')
			default:
				walk(n.Children)
			}
		}
	}
	walk(nodes)
	return b.String()
}

// Width is the number of runes of s, the measure of a column in aligned
// text.
func Width(s string) int { return utf8.RuneCountInString(s) }
