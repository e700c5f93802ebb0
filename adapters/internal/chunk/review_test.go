package chunk

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// A line that opens a code block and is longer than the limit ("```" and a
// long info string, e.g. a pasted one-line log after the fence) becomes
// the block's reopening tag; reopening it in the next piece already
// exceeds the limit, so Split loops for ever appending empty pieces.
func TestReviewSplitLongOpeningFenceTerminates(t *testing.T) {
	text := "```" + strings.Repeat("a", 5000) + "\n" + strings.Repeat("b", 1000) + "\nend"
	done := make(chan []string, 1)
	go func() { done <- Split(text, 3000) }()
	select {
	case pieces := <-done:
		for i, p := range pieces {
			if n := utf8.RuneCountInString(p); n > 3000 {
				t.Errorf("piece %d has %d runes, over the limit 3000", i, n)
			}
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Split did not return within 3s: it loops reopening a fence longer than the limit")
	}
}
