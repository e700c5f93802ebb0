package markdown

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/chatops-dev/chatops/adapters/internal/mdoc"
	"github.com/chatops-dev/chatops/bot"
)

var (
	mattermostLike = Options{MaxHeading: 6, Tables: true, Rules: true, DefuseMentions: true}
	discordLike    = Options{MaxHeading: 3}
)

func TestMarkdownDialects(t *testing.T) {
	tests := []struct {
		name, src      string
		mattermost, dc string
	}{
		{"inline markup", "**b** *i* ~~s~~ `c` [l](https://x.io/a_(b))",
			"**b** *i* ~~s~~ `c` [l](https://x.io/a_%28b%29)", ""},
		{"nested emphasis", "***both*** and *a **b** c*", "***both*** and *a **b** c*", ""},
		{"literal markup is escaped", `2 * 3 \_x\_ \# <b> & [x] |`, `2 \* 3 \_x\_ \# \<b\> \& \[x\] \|`, ""},
		{"a line that would start a block", "\\- no list\\\n1\\. no list\\\n\\= no heading\\\n2024.01 stays",
			"\\- no list\n1\\. no list\n\\= no heading\n2024.01 stays", ""},
		{"code span with backticks", "`` a`b `` and ` `` `", "``a`b`` and ``` `` ```", ""},
		{"headings", "# one\n\n#### four", "# one\n\n#### four", "# one\n\n**four**"},
		{"bold in a deep heading", "#### a **b** c", "#### a **b** c", "**a b c**"},
		{"mentions", "@channel and @alice", "@\u200dchannel and @\u200dalice", "@channel and @alice"},
		{"code keeps @", "`@all`\n\n```\n@here\n```", "`@all`\n\n```\n@here\n```", ""},
		{"table", "| a | b |\n|:-|-:|\n| `x\\|y` | 10 |", "| a | b |\n| :-- | --: |\n| `x\\|y` | 10 |", "```\na     b\n---  --\nx|y  10\n```"},
		{"rule", "a\n\n---\n\nb", "a\n\n---\n\nb", "a\n\n──────────\n\nb"},
		{"quote with code", "> q\n>\n> ```\n> x\n> ```", "> q\n>\n> ```\n> x\n> ```", ""},
		{"list with blocks", "- a\n\n  b\n- c\n  ```\n  x\n  ```\n- d\n  - e\n  3. f",
			"- a\n\n  b\n- c\n  ```\n  x\n  ```\n- d\n  - e\n\n  3. f", ""},
		{"ordered list", "7. seven\n8. eight", "7. seven\n8. eight", ""},
		{"fence longer than the code's", "````\n```\n````", "````\n```\n````", ""},
		{"info string kept when one word", "```go\nx\n```\n\n```evil<x\ny\n```", "```go\nx\n```\n\n```\ny\n```", ""},
		{"hard break", "a\\\nb", "a\nb", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := renderMarkdown(tt.src, mattermostLike, 10000); got != tt.mattermost {
				t.Errorf("Mattermost:\n%s\nwant:\n%s", got, tt.mattermost)
			}
			want := tt.dc
			if want == "" {
				want = tt.mattermost
			}
			if got := renderMarkdown(tt.src, discordLike, 10000); got != want {
				t.Errorf("Discord:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// What the renderer writes reads back as the document it was given: the
// rendering is faithful to the job's Markdown (in the dialect that has
// everything, without defused mentions).
func TestMarkdownRoundTrip(t *testing.T) {
	md, err := os.ReadFile("../../../testdata/chat_reply.md")
	if err != nil {
		t.Fatal(err)
	}
	o := Options{MaxHeading: 6, Tables: true, Rules: true}
	for _, src := range []string{string(md), "- a\n\n  b\n- c", "> - x\n>   ```\n>   y\n>   ```", "1) a\n2) b\n\n* c"} {
		want := dumpDoc(mdoc.Parse(src))
		out := renderMarkdown(src, o, 100000)
		if got := dumpDoc(mdoc.Parse(out)); got != want {
			t.Errorf("%q rendered as\n%s\nreads back as\n%s\nnot\n%s", src, out, got, want)
		}
	}
}

// dumpDoc writes a tree one node a line, ignoring list looseness, which
// chat rendering does not keep.
func dumpDoc(n *mdoc.Node) string {
	var b strings.Builder
	var walk func(*mdoc.Node, int)
	walk = func(n *mdoc.Node, depth int) {
		fmt.Fprintf(&b, "%s%d %q %d %q %q %v %d %v\n", strings.Repeat("  ", depth), n.Kind, n.Text, n.Level, n.Info, n.URL, n.Ordered, n.Start, n.Align)
		for _, c := range n.Children {
			walk(c, depth+1)
		}
	}
	walk(n, 0)
	return b.String()
}

// A long reply file keeps its start, whole blocks and lines, never
// leaves a code fence open and says it was cut.
func TestMarkdownCutKeepsTheStart(t *testing.T) {
	src := "# Report\n\nIntro paragraph.\n\n```\n" + strings.Repeat("a line of code\n", 400) + "```\n\nAfter the code.\n"
	for _, limit := range []int{200, 1000, 3000} {
		got := renderMarkdown(src, discordLike, limit)
		if n := utf8.RuneCountInString(got); n > limit {
			t.Fatalf("limit %d: %d runes", limit, n)
		}
		if !strings.HasPrefix(got, "# Report\n\nIntro paragraph.") || !strings.HasSuffix(got, "\n\n"+mdCutNote) {
			t.Fatalf("limit %d: start or note missing:\n%s", limit, got)
		}
		if fences := strings.Count(got, "```"); fences%2 != 0 {
			t.Fatalf("limit %d: %d fences:\n%s", limit, fences, got)
		}
		if strings.Contains(got, "After the code") {
			t.Fatalf("limit %d: kept what follows the cut", limit)
		}
		doc := mdoc.Parse(got)
		if last := doc.Children[len(doc.Children)-1]; last.Kind != mdoc.Paragraph || mdoc.Plain(last.Children) != "… (cut: too long for one message)" {
			t.Fatalf("limit %d: the note is not a paragraph of its own:\n%s", limit, got)
		}
	}
}

// In a whole reply, the Markdown takes the room the frame leaves: title,
// fields and links are all there, and the message fits.
func TestReplyWithMarkdownFits(t *testing.T) {
	r := bot.Reply{Status: bot.StatusSuccess, Title: "report succeeded", Fields: []bot.Field{{Name: "Job", Value: "report"}},
		Markdown: strings.Repeat("Some *words* in a paragraph, over and over.\n\n", 400),
		Links:    []bot.Link{{Label: "Job log", URL: "https://x.io/j/1"}}}
	for _, limit := range []int{2000, 16383} {
		got := RenderWith(r, Options{Limit: limit})
		if n := utf8.RuneCountInString(got); n > limit {
			t.Fatalf("limit %d: %d runes", limit, n)
		}
		if !strings.HasPrefix(got, "#### ✅ report succeeded\n**Job:** report\n\nSome *words*") ||
			!strings.HasSuffix(got, mdCutNote+"\n\n[Job log](https://x.io/j/1)") {
			t.Fatalf("limit %d:\n%s", limit, got)
		}
	}
}

// FuzzRenderMarkdown checks the Markdown → chat markdown path: whatever
// a job writes, the message fits, is valid UTF-8, and a cut note is a
// paragraph of its own (never swallowed by an open fence or quote).
func FuzzRenderMarkdown(f *testing.F) {
	md, _ := os.ReadFile("../../../testdata/chat_reply.md")
	f.Add(string(md), 2000, true)
	for _, s := range []string{"```\n" + strings.Repeat("x\n", 300), "> " + strings.Repeat("quote ", 200), "- a\n  - b\n    - c " + strings.Repeat("é", 500),
		"| a |\n|---|\n" + strings.Repeat("| row |\n", 90), "caf\xe9 \x00 @here"} {
		f.Add(s, 300, false)
	}
	f.Fuzz(func(t *testing.T, src string, limit int, mattermost bool) {
		limit = 100 + abs(limit)%20000
		o := discordLike
		if mattermost {
			o = mattermostLike
		}
		got := renderMarkdown(src, o, limit)
		if n := utf8.RuneCountInString(got); n > limit {
			t.Fatalf("%d runes over %d", n, limit)
		}
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 %q", got)
		}
		if strings.HasSuffix(got, mdCutNote) {
			doc := mdoc.Parse(got)
			last := doc.Children[len(doc.Children)-1]
			if last.Kind != mdoc.Paragraph || mdoc.Plain(last.Children) != "… (cut: too long for one message)" {
				t.Fatalf("the cut note is inside a block:\n%s", got)
			}
		}
		r := RenderWith(bot.Reply{Status: bot.StatusSuccess, Title: "t", Markdown: src, Links: []bot.Link{{Label: "Job", URL: "https://x/y"}}}, Options{Limit: limit})
		if n := utf8.RuneCountInString(r); n > limit || !utf8.ValidString(r) {
			t.Fatalf("reply: %d runes over %d, valid UTF-8 %v", n, limit, utf8.ValidString(r))
		}
	})
}
