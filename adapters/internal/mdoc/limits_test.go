package mdoc

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// depth is how many containers (quotes, lists, items) or marks (emphasis,
// strong, strike, links) enclose the deepest node below n.
func depth(n *Node, containers bool) int {
	deepest := 0
	for _, c := range n.Children {
		deepest = max(deepest, depth(c, containers))
	}
	switch n.Kind {
	case Quote, List:
		if containers {
			deepest++
		}
	case Emphasis, Strong, Strike, Link:
		if !containers {
			deepest++
		}
	}
	return deepest
}

// A job's deeply nested Markdown keeps MaxDepth levels and all its text:
// deeper quotes and lists hand their blocks to the one at MaxDepth,
// deeper marks their text to the enclosing mark.
func TestNestingIsCappedKeepingTheText(t *testing.T) {
	items := func(n int) string {
		var b strings.Builder
		for i := range n {
			b.WriteString(strings.Repeat("  ", i) + "- item\n")
		}
		return b.String() + strings.Repeat("  ", n) + "last\n"
	}
	for _, tt := range []struct {
		name       string
		src        string
		containers bool
		word       string
		count      int
	}{
		{"quotes", strings.Repeat(">", 5000) + " x", true, "x", 1},
		{"lists on one line", strings.Repeat("- ", 5000) + "x", true, "x", 1},
		{"lists on lines", items(100), true, "item", 100},
		{"quoted lists", strings.Repeat("> - ", 300) + "x", true, "x", 1},
		{"marks", strings.Repeat("*a _a ~~a ", 100) + "x" + strings.Repeat(" a~~ a_ a*", 100), false, "a", 600},
	} {
		t.Run(tt.name, func(t *testing.T) {
			doc := Parse(tt.src)
			if d := depth(doc, tt.containers); d > MaxDepth || d < MaxDepth/2 {
				t.Errorf("nesting %d, want at most MaxDepth (%d) and not flattened entirely", d, MaxDepth)
			}
			text := Plain([]*Node{doc})
			if n := strings.Count(text, tt.word); n != tt.count {
				t.Errorf("%q kept %d times, want %d: %q", tt.word, n, tt.count, text[:min(len(text), 200)])
			}
		})
	}
	if d := depth(Parse(strings.Repeat("> ", MaxDepth)+"x"), true); d != MaxDepth {
		t.Errorf("%d quotes kept of MaxDepth", d)
	}
}

// A source over MaxSource is read up to its last line break within it,
// or a character boundary for a single line, and says so.
func TestLongSourceIsReadUpToMaxSource(t *testing.T) {
	para := strings.Repeat("word ", 15) + "end\n\n"
	long := strings.Repeat(para, MaxSource/len(para)+10)
	doc := Parse(long)
	if !doc.Truncated {
		t.Fatal("a source over MaxSource is not marked Truncated")
	}
	if n, want := len(doc.Children), MaxSource/len(para); n != want {
		t.Errorf("%d paragraphs read, want the %d whole ones within MaxSource", n, want)
	}
	if Parse(long[:MaxSource]).Truncated {
		t.Error("a source of MaxSource bytes is marked Truncated")
	}
	line := strings.Repeat("é", MaxSource) // one line, 2 bytes a character
	doc = Parse(line)
	text := Plain(doc.Children)
	if !doc.Truncated || !utf8.ValidString(text) || strings.ContainsRune(text, utf8.RuneError) || len(text) > MaxSource {
		t.Errorf("one long line: truncated %v, %d bytes, valid %v", doc.Truncated, len(text), utf8.ValidString(text))
	}
}

// Fit says a truncated document was cut even when what was read fits.
func TestFitSaysATruncatedDocumentWasCut(t *testing.T) {
	doc := Parse(strings.Repeat("<!-- a comment, dropped -->\n", MaxSource/20) + "shown\n")
	if !doc.Truncated {
		t.Fatal("not truncated")
	}
	out, cut := Fit(doc, plainRender, func(string) bool { return true })
	if !cut || !strings.HasSuffix(out, "[cut]") {
		t.Errorf("Fit = %q, cut %v; want the cut said", out, cut)
	}
}
