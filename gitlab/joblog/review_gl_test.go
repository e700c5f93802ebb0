package joblog

import (
	"fmt"
	"strings"
	"testing"
)

// Review findings (branch review-gl).

// TestCutReplyShowsNoEscapeOrTimestampDebris: when a section exceeds the
// reply limit only its tail is kept, cut at an arbitrary byte (only a
// split UTF-8 sequence is repaired). A cut inside an escape sequence or a
// runner timestamp prefix leaves its tail as text, and Clean can no
// longer recognise it: the reply starts with debris such as "[32;1m" or
// "56Z 01O " (a timestamp fragment). The kept tail should start at a line
// boundary (the cut counted in CutBytes), or at least not mid-sequence.
func TestCutReplyShowsNoEscapeOrTimestampDebris(t *testing.T) {
	var b strings.Builder
	b.WriteString("2024-05-01T10:00:00.000000Z 00O section_start:1:step_script\r\x1b[0K\x1b[0K\x1b[36;1mExecuting \"step_script\" stage of the job script\x1b[0;m\n")
	for i := range 200 {
		fmt.Fprintf(&b, "2024-05-01T10:00:00.%06dZ 01O \x1b[32;1mline %03d\x1b[0;m\n", i, i)
	}
	b.WriteString("2024-05-01T10:00:01.000000Z 00O section_end:1:step_script\r\x1b[0K\n")
	log := b.String()
	for limit := 200; limit < 260; limit++ {
		e := NewExtractor(limit, 5)
		_, _ = e.Write([]byte(log))
		r := e.Result()
		if r.Section != "step_script" || r.CutBytes == 0 {
			t.Fatalf("limit %d: section %q cut %d", limit, r.Section, r.CutBytes)
		}
		first, _, _ := strings.Cut(Clean(r.Output), "\n")
		if strings.Contains(first, "[32;1m") || strings.Contains(first, "[0;m") || strings.Contains(first, "Z 01O") || strings.Contains(first, " 01O ") {
			t.Errorf("limit %d: the cut reply starts with debris: %q", limit, first)
		}
	}
}
