package chunk

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplitShortTextIsOnePiece(t *testing.T) {
	got := Split("hello\nworld", 100)
	if len(got) != 1 || got[0] != "hello\nworld" {
		t.Fatalf("Split = %q", got)
	}
}

func TestSplitKeepsCodeBlocksBalanced(t *testing.T) {
	var b strings.Builder
	b.WriteString("intro line\n```shell\n")
	for i := range 200 {
		b.WriteString("output line number ")
		b.WriteString(strings.Repeat("x", i%17))
		b.WriteString("\n")
	}
	b.WriteString("```\ntrailer")
	text := b.String()
	for _, limit := range []int{16, 50, 100, 2000} {
		pieces := Split(text, limit)
		if len(pieces) < 2 && limit < 2000 {
			t.Fatalf("limit %d: expected several pieces, got %d", limit, len(pieces))
		}
		var content []string
		for i, p := range pieces {
			if n := utf8.RuneCountInString(p); n > limit {
				t.Fatalf("limit %d: piece %d has %d runes", limit, i, n)
			}
			if c := strings.Count(p, "```"); c%2 != 0 {
				t.Fatalf("limit %d: piece %d has unbalanced fences:\n%s", limit, i, p)
			}
			content = append(content, p)
		}
		if limit < 50 {
			continue // lines longer than the limit are cut mid-line
		}
		joined := strings.Join(content, "\n")
		for _, want := range []string{"intro line", "trailer", "output line number " + strings.Repeat("x", 16)} {
			if !strings.Contains(joined, want) {
				t.Fatalf("limit %d: lost %q", limit, want)
			}
		}
	}
}

func TestSplitLongLineAtRuneBoundaries(t *testing.T) {
	text := strings.Repeat("é", 100)
	pieces := Split(text, 30)
	if strings.Join(pieces, "") != text {
		t.Fatalf("pieces do not reassemble the text")
	}
	for _, p := range pieces {
		if !utf8.ValidString(p) || utf8.RuneCountInString(p) > 30 {
			t.Fatalf("bad piece %q", p)
		}
	}
}

func FuzzSplit(f *testing.F) {
	f.Add("a\n```go\nx\n```\nb", 16)
	f.Add(strings.Repeat("line\n", 50), 20)
	f.Fuzz(func(t *testing.T, text string, limit int) {
		if limit < 0 || limit > 5000 || !utf8.ValidString(text) {
			return
		}
		for _, p := range Split(text, limit) {
			if utf8.RuneCountInString(p) > max(limit, 16) {
				t.Fatalf("piece over limit %d: %q", limit, p)
			}
		}
	})
}
