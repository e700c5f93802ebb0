package mdoc

import (
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"escapes and references are text", `\*not em\* &amp; &#64;all &lt;!channel&gt;`,
			"doc\n  p\n    text \"*not em* & @all <!channel>\"\n"},
		{"soft break is a space, hard break a break", "one\ntwo  \nthree",
			"doc\n  p\n    text \"one two\"\n    br\n    text \"three\"\n"},
		{"nesting", "**bold *and em* `code`**",
			"doc\n  p\n    strong\n      text \"bold \"\n      em\n        text \"and em\"\n      text \" \"\n      code \"code\"\n"},
		{"code span keeps backslashes", "`a\\*b`", "doc\n  p\n    code \"a\\\\*b\"\n"},
		{"fenced code keeps its language word", "```go title\nx := 1\n```", "doc\n  codeblock \"go\" \"x := 1\\n\"\n"},
		{"indented code", "    $ make\n", "doc\n  codeblock \"\" \"$ make\\n\"\n"},
		{"unsafe and relative links lose the link, keep the label", "[a](javascript:alert(1)) [b](report.html) [c](http://user@evil/) [d](data:text/html,x)",
			"doc\n  p\n    text \"a b c d\"\n"},
		{"image is a link to it", "![chart](https://x.io/c.png) ![](https://x.io/d.png)",
			"doc\n  p\n    link https://x.io/c.png\n      text \"chart\"\n    text \" \"\n    link https://x.io/d.png\n      text \"image\"\n"},
		{"bare URLs and emails are links", "see www.example.com or ops@example.com",
			"doc\n  p\n    text \"see \"\n    link http://www.example.com\n      text \"www.example.com\"\n    text \" or \"\n    link mailto:ops@example.com\n      text \"ops@example.com\"\n"},
		{"link in a label is its label", "[![img](https://a/i.png)](https://a/)",
			"doc\n  p\n    link https://a/\n      text \"img\"\n"},
		{"HTML is text, comments are dropped", "<!-- note -->\n\n<details>\n<summary>More</summary>\n</details>\n\ntext <b>x</b><!-- y -->",
			"doc\n  p\n    text \"<details>\"\n    br\n    text \"<summary>More</summary>\"\n    br\n    text \"</details>\"\n  p\n    text \"text <b>x</b>\"\n"},
		{"tasks", "- [ ] open\n- [x] done", "doc\n  list\n    item\n      p\n        text \"☐ open\"\n    item\n      p\n        text \"☑ done\"\n"},
		{"ordered list start", "3. c\n4. d", "doc\n  list ordered from 3\n    item\n      p\n        text \"c\"\n    item\n      p\n        text \"d\"\n"},
		{"table", "| a | b |\n|:-:|--:|\n| `x\\|y` | **z** |",
			"doc\n  table [2 3]\n    row\n      cell\n        text \"a\"\n      cell\n        text \"b\"\n    row\n      cell\n        code \"x|y\"\n      cell\n        strong\n          text \"z\"\n"},
		{"invalid UTF-8 and NUL", "caf\xe9 \x00", "doc\n  p\n    text \"caf\uFFFD \uFFFD\"\n"},
		{"heading levels", "#### four\n\nSetext\n===", "doc\n  h 4\n    text \"four\"\n  h 1\n    text \"Setext\"\n"},
		{"empty", "", "doc\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dump(Parse(tt.src)); got != tt.want {
				t.Errorf("Parse(%q):\n%s\nwant:\n%s", tt.src, got, tt.want)
			}
		})
	}
}

func TestSafeURL(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"https://gitlab.example.com/a/-/jobs/1", "https://gitlab.example.com/a/-/jobs/1", true},
		{"HTTP://x.io/a b(c)<d>|e", "HTTP://x.io/a%20b%28c%29%3Cd%3E%7Ce", true},
		{"mailto:ops@example.com", "mailto:ops@example.com", true},
		{"mailto:", "", false},
		{"javascript:alert(1)", "", false},
		{"data:text/html,x", "", false},
		{"//evil.example/x", "", false},
		{"/relative", "", false},
		{"https://user:pw@host/", "", false},
		{"https:///nohost", "", false},
		{"ftp://x.io/f", "", false},
	}
	for _, tt := range tests {
		got, ok := SafeURL(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("SafeURL(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// plainRender is a renderer for the tests: every unit visible.
func plainRender(d *Node, cut bool) string {
	var b strings.Builder
	var walk func(*Node)
	walk = func(n *Node) {
		switch n.Kind {
		case Text, Code, CodeBlock:
			b.WriteString(n.Text)
		case Break, Rule, Row:
			b.WriteString("|")
		}
		for _, c := range n.Children {
			walk(c)
		}
		if n.Kind.IsBlock() && n.Kind != Document {
			b.WriteString("\n")
		}
	}
	walk(d)
	if cut {
		b.WriteString("[cut]")
	}
	return b.String()
}

func TestFitKeepsTheLongestStartThatFits(t *testing.T) {
	doc := Parse("# Report\n\nfirst paragraph with words\n\n```\nline 1\nline 2\nline 3\n```\n\n- a\n- b\n")
	full := plainRender(doc, false)
	if got, cut := Fit(doc, plainRender, func(s string) bool { return len(s) <= len(full) }); cut || got != full {
		t.Fatalf("a fitting document was changed: %q, %v", got, cut)
	}
	tests := []struct {
		limit int
		want  string
	}{
		{len("Report\nfirst paragraph with\n[cut]"), "Report\nfirst paragraph with\n[cut]"},
		{len("Report\nfirst paragraph with words\nline 1\nline 2\n\n[cut]"), "Report\nfirst paragraph with words\nline 1\nline 2\n\n[cut]"},
		{len("[cut]"), "[cut]"},
		{3, ""},
	}
	for _, tt := range tests {
		got, cut := Fit(doc, plainRender, func(s string) bool { return len(s) <= tt.limit })
		if !cut || got != tt.want {
			t.Errorf("limit %d: %q, cut %v; want %q", tt.limit, got, cut, tt.want)
		}
	}
}

func TestPrefixCutsLongWordsAndLinesAtRunes(t *testing.T) {
	word := strings.Repeat("é", 200)
	p := Prefix(Parse(word), 1)
	if got := p.Children[0].Children[0].Text; got != strings.Repeat("é", maxWordRunes) {
		t.Errorf("a long word's first unit is %d runes", utf8.RuneCountInString(got))
	}
	code := Parse("```\n" + strings.Repeat("ü", 600) + "\n```")
	if got := Prefix(code, 2).Children[0].Text; got != strings.Repeat("ü", 2*maxLineRunes)+"\n" {
		t.Errorf("two units of a long code line: %d runes", utf8.RuneCountInString(got))
	}
}

func TestPrefixDropsAHeaderWithoutRows(t *testing.T) {
	doc := Parse("intro\n\n| a |\n|---|\n| 1 |\n")
	if got := dump(Prefix(doc, 2)); got != "doc\n  p\n    text \"intro\"\n" {
		t.Errorf("intro and the header only:\n%s", got)
	}
}

// FuzzParse checks that any input parses, that every string in the tree
// is valid UTF-8 and that cutting keeps starts: Prefix(doc, Units) is the
// whole document and shorter prefixes never hold more units.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"# h\n\ntext *em* **st** `c` [l](https://x.io)", "- a\n  - b\n\n> q\n\n```\nc\n```",
		"| a | b |\n|---|---|\n| 1 | 2 |", "<div>\n</div>", "caf\xe9\x00", "[a]: https://x\n\n[a] ![i][a]", "1. x\n\n   y\n\n2) z"} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, src string, k int) {
		doc := Parse(src)
		var check func(*Node)
		check = func(n *Node) {
			for _, s := range []string{n.Text, n.Info, n.URL} {
				if !utf8.ValidString(s) {
					t.Fatalf("invalid UTF-8 %q", s)
				}
			}
			if n.Kind == Link {
				if _, ok := SafeURL(n.URL); !ok {
					t.Fatalf("unsafe link %q", n.URL)
				}
			}
			for _, c := range n.Children {
				check(c)
			}
		}
		check(doc)
		total := Units(doc)
		if dump(Prefix(doc, total)) != dump(doc) {
			t.Fatal("the prefix of all units is not the document")
		}
		k = abs(k) % (total + 1)
		if u := Units(Prefix(doc, k)); u > k {
			t.Fatalf("prefix of %d units holds %d", k, u)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func TestAlignedTable(t *testing.T) {
	doc := Parse("| name | n | mid |\n|:--|--:|:-:|\n| **api** | 12 | x |\n| web-frontend | 6 |\n")
	want := "name           n  mid\n------------  --  ---\napi           12   x\nweb-frontend   6"
	if got := AlignedTable(doc.Children[0]); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// Adapters render replies at once from many goroutines with the one
// goldmark parser (meant to be shared: yuin/goldmark#182); -race checks.
func TestParseConcurrently(t *testing.T) {
	src := "# h\n\n*a* **b** `c` [d](https://x.io) www.x.io\n\n- [x] t\n\n| a |\n|---|\n| b |\n\n~~s~~ &amp; \\*"
	want := dump(Parse(src))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				if got := dump(Parse(src)); got != want {
					t.Errorf("a concurrent parse differs:\n%s", got)
				}
			}
		})
	}
	wg.Wait()
}
