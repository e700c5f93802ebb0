package joblog

import (
	"fmt"
	"io"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// markerRe is GitLab's marker regex (lib/gitlab/regex.rb,
// build_trace_section_regex), used only as the tests' oracle.
var markerRe = regexp.MustCompile(`section_((?:start)|(?:end)):(\d+):([a-zA-Z0-9_.-]+)(\[(?:\w+=\w+)(?:, ?(?:\w+=\w+))*\])?\r\033\[0K`)

// referenceExtract is GitLab's algorithm transcribed literally over the
// whole log: find the markers, keep names seen exactly as [start, end],
// take the bytes between the offsets and apply Ruby's
// output.split("\n")[1..-1].join("\n").
func referenceExtract(log string) (section, output string) {
	type mark struct {
		start bool
		off   int
	}
	marks := map[string][]mark{}
	for _, m := range markerRe.FindAllStringSubmatchIndex(log, -1) {
		if m[1]-m[0] > maxMarker {
			continue // documented bound: such a "marker" is text
		}
		name, start := log[m[6]:m[7]], log[m[2]:m[3]] == "start"
		off := m[0]
		if start {
			off = m[1]
		}
		marks[name] = append(marks[name], mark{start, off})
	}
	for _, name := range preferred {
		ms := marks[name]
		if len(ms) != 2 || !ms[0].start || ms[1].start {
			continue
		}
		parts := strings.Split(log[ms[0].off:ms[1].off], "\n")
		for len(parts) > 0 && parts[len(parts)-1] == "" {
			parts = parts[:len(parts)-1] // Ruby's split drops trailing empty fields
		}
		if len(parts) <= 1 {
			return name, ""
		}
		return name, strings.Join(parts[1:], "\n")
	}
	return "", ""
}

// feedChunks writes log to a new Extractor in chunks whose sizes size picks.
func feedChunks(log string, maxReply int, size func() int) Result {
	e := NewExtractor(maxReply, 5)
	for len(log) > 0 {
		n := min(max(size(), 1), len(log))
		_, _ = e.Write([]byte(log[:n]))
		log = log[n:]
	}
	return e.Result()
}

// checkStreaming feeds log split at every offset, in 1- and 7-byte chunks
// and in random chunks, and requires the same Result as one write.
func checkStreaming(t *testing.T, log string, maxReply int) {
	t.Helper()
	want := feedChunks(log, maxReply, func() int { return len(log) })
	same := func(how string, got Result) {
		t.Helper()
		if got != want {
			t.Fatalf("maxReply %d, %s:\n got %+v\nwant %+v", maxReply, how, got, want)
		}
	}
	for i := 0; i <= len(log); i++ {
		e := NewExtractor(maxReply, 5)
		_, _ = e.Write([]byte(log[:i]))
		_, _ = e.Write([]byte(log[i:]))
		same(fmt.Sprintf("split at %d", i), e.Result())
	}
	same("1-byte chunks", feedChunks(log, maxReply, func() int { return 1 }))
	same("7-byte chunks", feedChunks(log, maxReply, func() int { return 7 }))
	rng := rand.New(rand.NewPCG(1, uint64(len(log))))
	for range 20 {
		same("random chunks", feedChunks(log, maxReply, func() int { return 1 + rng.IntN(64) }))
	}
}

func TestMarkersSplitAcrossThreeWrites(t *testing.T) {
	log := "noise section_\n" + stepScript + "\n" + chatReply + "\ntrailer section_start:9:x"
	want := Extract(log)
	if want.Section != "chat_reply" {
		t.Fatalf("section %q", want.Section)
	}
	for i := 0; i <= len(log); i++ {
		for j := i; j <= len(log); j++ {
			e := NewExtractor(len(log), 20)
			for _, part := range []string{log[:i], log[i:j], log[j:]} {
				_, _ = e.Write([]byte(part))
			}
			if got := e.Result(); got != want {
				t.Fatalf("split at %d, %d: %+v", i, j, got)
			}
		}
	}
}

func TestMaxReplyKeepsTheTail(t *testing.T) {
	var b strings.Builder
	b.WriteString("section_start:1:chat_reply\r\x1b[0K\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "line %04d\n", i)
	}
	b.WriteString(strings.Repeat("\n", 5000)) // trailing empty lines must not evict the output
	b.WriteString("section_end:1:chat_reply\r\x1b[0K")
	e := NewExtractor(100, 3)
	_, _ = io.Copy(e, strings.NewReader(b.String()))
	r := e.Result()
	// 100 bytes keep "\nline 0990...": the end of a line cut in two
	// (here only its newline) is dropped, so the reply starts at a line.
	if !strings.HasPrefix(r.Output, "line 0990\n") || !strings.HasSuffix(r.Output, "line 0999") || len(r.Output) != 99 {
		t.Fatalf("output %q", r.Output)
	}
	full := Extract(b.String()).Output
	if r.CutBytes != int64(len(full)-99) || full[r.CutBytes:] != r.Output {
		t.Fatalf("CutBytes = %d, full output %d bytes", r.CutBytes, len(full))
	}
	checkStreaming(t, b.String(), 100)
}

func TestMaxReplyCutKeepsWholeCharacters(t *testing.T) {
	log := "section_start:1:chat_reply\r\x1b[0K\n" + strings.Repeat("é", 100) + "\nsection_end:1:chat_reply\r\x1b[0K"
	for _, limit := range []int{0, 1, 2, 3, 9, 10} {
		r := feedChunks(log, limit, func() int { return 3 })
		if len(r.Output) > limit || strings.Trim(r.Output, "é") != "" || r.CutBytes+int64(len(r.Output)) != 200 {
			t.Fatalf("limit %d: %q, cut %d", limit, r.Output, r.CutBytes)
		}
	}
}

func TestLongMarkerIsText(t *testing.T) {
	long := "section_start:1:chat_reply[a=" + strings.Repeat("x", maxMarker) + "]\r\x1b[0K\nA\nsection_end:1:chat_reply\r\x1b[0K"
	if r := Extract(long); r.Section != "" {
		t.Fatalf("a marker over %d bytes counted: %+v", maxMarker, r)
	}
	checkStreaming(t, long, 1<<10)
}

func TestTail(t *testing.T) {
	var b strings.Builder
	for i := range 100 {
		fmt.Fprintf(&b, "log line %d\n", i)
	}
	b.WriteString("\x1b[31;1mERROR: Job failed: exit code 1\x1b[0;m\n")
	log := b.String()
	for _, tt := range []struct {
		lines int
		want  string
	}{
		{0, ""},
		{1, "\x1b[31;1mERROR: Job failed: exit code 1\x1b[0;m"},
		{3, "log line 98\nlog line 99\n\x1b[31;1mERROR: Job failed: exit code 1\x1b[0;m"},
	} {
		e := NewExtractor(10, tt.lines)
		_, _ = io.Copy(e, strings.NewReader(log))
		if got := e.Result(); got.Tail != tt.want || got.LogBytes != int64(len(log)) {
			t.Fatalf("%d lines: %q (%d bytes)", tt.lines, got.Tail, got.LogBytes)
		}
	}
	// Lines longer than the memory bound: the tail holds whole lines only,
	// unless a single line is all there is.
	long := strings.Repeat("a", 3000) + "\n" + strings.Repeat("b", 1500) + "\nend\n"
	e := NewExtractor(10, 2) // keeps 2 KiB
	_, _ = e.Write([]byte(long))
	if got := e.Result().Tail; got != strings.Repeat("b", 1500)+"\nend" {
		t.Fatalf("tail %d bytes: %.20q...", len(got), got)
	}
	e = NewExtractor(10, 1)
	_, _ = e.Write([]byte(strings.Repeat("c", 5000)))
	if got := e.Result().Tail; got != strings.Repeat("c", 1024) {
		t.Fatalf("tail of one long line: %d bytes", len(got))
	}
}

func TestResultIsStable(t *testing.T) {
	e := NewExtractor(100, 2)
	_, _ = e.Write([]byte(stepScript + chatReply))
	first := e.Result()
	if second := e.Result(); second != first || first.Section != "chat_reply" {
		t.Fatalf("%+v then %+v", first, second)
	}
}

// TestCutReplyShowsNoEscapeOrTimestampDebris: when a section exceeds the
// reply limit only its tail is kept, and the cut lands on any byte. A cut
// inside an escape sequence or a runner timestamp prefix would leave its
// rest as text that Clean can no longer recognise ("[32;1m", "56Z 01O ").
// The kept tail starts at a line boundary, the end of the cut line
// counted in CutBytes.
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
		if full := Extract(log).Output; full[r.CutBytes:] != r.Output || (r.CutBytes > 0 && full[r.CutBytes-1] != '\n') {
			t.Fatalf("limit %d: output is not the tail of the full output from a line start (cut %d)", limit, r.CutBytes)
		}
		first, _, _ := strings.Cut(Clean(r.Output), "\n")
		if strings.Contains(first, "[32;1m") || strings.Contains(first, "[0;m") || strings.Contains(first, "Z 01O") || strings.Contains(first, " 01O ") {
			t.Errorf("limit %d: the cut reply starts with debris: %q", limit, first)
		}
	}
}
