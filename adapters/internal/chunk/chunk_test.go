package chunk

import (
	"strings"
	"testing"
	"time"
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

// A line that opens a code block and is longer than the limit ("```" and a
// long info string, e.g. a pasted one-line log after the fence) used to
// become the block's reopening tag; reopening it in the next piece already
// exceeded the limit, so Split looped for ever appending pieces. The block
// now reopens with a plain fence.
func TestSplitLongOpeningFenceTerminates(t *testing.T) {
	text := "```" + strings.Repeat("a", 5000) + "\n" + strings.Repeat("b", 1000) + "\nend"
	done := make(chan []string, 1)
	go func() { done <- Split(text, 3000) }()
	select {
	case pieces := <-done:
		for i, p := range pieces {
			if n := utf8.RuneCountInString(p); n > 3000 {
				t.Errorf("piece %d has %d runes, over the limit 3000", i, n)
			}
			// The text never closes its block, so neither does the last piece.
			if c := strings.Count(p, "```"); c%2 != 0 && i < len(pieces)-1 {
				t.Errorf("piece %d has unbalanced fences: %.80q", i, p)
			}
		}
		if last := pieces[len(pieces)-1]; !strings.HasPrefix(last, "```\n") || !strings.Contains(last, "end") {
			t.Errorf("last piece %.80q; want the block reopened with a plain fence, then the text's end", last)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Split did not return within 3s: it loops reopening a fence longer than the limit")
	}
}

// A short info string (a language tag) is repeated where the block
// reopens, so each piece is highlighted alike.
func TestSplitReopensWithLanguageTag(t *testing.T) {
	text := "```shell\n" + strings.Repeat("echo hello\n", 20) + "```"
	pieces := Split(text, 60)
	if len(pieces) < 2 {
		t.Fatalf("want several pieces, got %q", pieces)
	}
	for i, p := range pieces {
		if !strings.HasPrefix(p, "```shell\n") {
			t.Fatalf("piece %d %q does not open with the language tag", i, p)
		}
	}
}

// FuzzSplit checks Split's invariants on any text: it returns (a cut
// that cannot advance would loop for ever), every piece is within the
// limit, and every piece carries some of the text, so there are no more
// pieces than runes.
func FuzzSplit(f *testing.F) {
	f.Add("a\n```go\nx\n```\nb", 16)
	f.Add(strings.Repeat("line\n", 50), 20)
	f.Add("```"+strings.Repeat("a", 40)+"\n"+strings.Repeat("b", 30)+"\nend", 16)
	f.Add("x\n```"+strings.Repeat("i", 20)+"\n"+strings.Repeat("c\n", 30)+"```\ny", 24)
	f.Fuzz(func(t *testing.T, text string, limit int) {
		if limit < 0 || limit > 5000 || !utf8.ValidString(text) {
			return
		}
		done := make(chan []string, 1)
		go func() { done <- Split(text, limit) }()
		var pieces []string
		select {
		case pieces = <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Split(%q, %d) did not return", text, limit)
		}
		if runes := utf8.RuneCountInString(text); len(pieces) > max(runes, 1) {
			t.Fatalf("%d pieces for %d runes: some carry nothing", len(pieces), runes)
		}
		for _, p := range pieces {
			if utf8.RuneCountInString(p) > max(limit, 16) {
				t.Fatalf("piece over limit %d: %q", limit, p)
			}
		}
	})
}
