// Package joblog extracts the chat reply from a GitLab job log exactly as
// GitLab ChatOps does (the chat_reply section, else step_script, else
// build_script), streaming, so memory is bounded by the reply and not by
// the log, and cleans the result for display.
package joblog

import (
	"bytes"
	"regexp"
	"strings"
)

// markerRe is GitLab's section marker (lib/gitlab/ci/trace/section_parser.rb).
var markerRe = regexp.MustCompile(`section_((?:start)|(?:end)):(\d+):([a-zA-Z0-9_.-]+)(\[(?:\w+=\w+)(?:, ?(?:\w+=\w+))*\])?\r\x1b\[0K`)

// Sections in the order GitLab prefers them.
var preferred = []string{"chat_reply", "step_script", "build_script"}

// maxMarker bounds a marker's length; a marker split across writes is
// recognised when it is shorter than this.
const maxMarker = 1024

// Result is what a log yields.
type Result struct {
	// Section is the section the output came from, or "" when the log has
	// no complete chat_reply, step_script or build_script section (yet).
	Section string
	// Output is the section's text per GitLab's rules (first line dropped,
	// trailing empty lines dropped), raw (ANSI codes kept); when the section
	// exceeded the limit, only its tail.
	Output string
	// CutBytes is how many bytes of the section were dropped from its
	// start to respect the limit.
	CutBytes int64
	// Tail is the last lines of the whole log, raw, for failed jobs.
	Tail string
	// LogBytes is the size of the log.
	LogBytes int64
}

// capture follows one section name through the log.
type capture struct {
	markers   []string // "start"/"end" in order; valid iff exactly [start end]
	open      bool     // between its start and end marker
	firstLine bool     // still inside the first line, which GitLab drops
	content   tailBuffer
}

// Extractor is an io.Writer that consumes a job log in chunks of any size.
type Extractor struct {
	maxReply  int
	tailLines int
	pending   []byte // bytes not yet scanned for markers
	caps      map[string]*capture
	tail      tailBuffer
	total     int64
}

// NewExtractor returns an Extractor keeping at most maxReply bytes of the
// chosen section (its tail) and the last tailLines lines of the log.
func NewExtractor(maxReply, tailLines int) *Extractor {
	e := &Extractor{maxReply: maxReply, tailLines: tailLines, caps: map[string]*capture{}}
	for _, n := range preferred {
		e.caps[n] = &capture{content: tailBuffer{max: maxReply}}
	}
	// Lines are rarely longer than 512 bytes; this bounds Tail's memory.
	e.tail.max = max(tailLines*512, 4096)
	return e
}

// Write implements io.Writer; it never fails.
func (e *Extractor) Write(p []byte) (int, error) {
	e.total += int64(len(p))
	e.tail.write(p)
	e.pending = append(e.pending, p...)
	e.scan(false)
	return len(p), nil
}

// scan processes pending bytes. Unless final, it keeps back the last
// maxMarker bytes when they may hold the start of a split marker.
func (e *Extractor) scan(final bool) {
	buf := e.pending
	limit := len(buf)
	if !final {
		// Only bytes that cannot begin an incomplete marker are safe.
		if i := bytes.LastIndex(buf, []byte("section_")); i >= 0 && len(buf)-i < maxMarker {
			limit = i
		} else if i := partialPrefix(buf); i >= 0 {
			limit = i
		}
	}
	pos := 0
	for _, m := range markerRe.FindAllSubmatchIndex(buf[:limit], -1) {
		e.feed(buf[pos:m[0]])
		kind, name := string(buf[m[2]:m[3]]), string(buf[m[6]:m[7]])
		e.marker(kind, name)
		pos = m[1]
	}
	// Bytes from pos to limit hold no complete marker.
	e.feed(buf[pos:limit])
	rest := copy(e.pending, buf[limit:])
	e.pending = e.pending[:rest]
	// Keep the pending buffer from pinning a huge array after one unusually
	// large write; ordinary reads (32 KiB) reuse it.
	if cap(e.pending) > 1<<20 && rest < maxMarker {
		e.pending = append([]byte(nil), e.pending...)
	}
}

// partialPrefix returns where a suffix of buf that is a proper prefix of
// "section_" begins, or -1.
func partialPrefix(buf []byte) int {
	const word = "section_"
	for n := min(len(word)-1, len(buf)); n > 0; n-- {
		if bytes.Equal(buf[len(buf)-n:], []byte(word[:n])) {
			return len(buf) - n
		}
	}
	return -1
}

func (e *Extractor) marker(kind, name string) {
	c, ok := e.caps[name]
	if !ok {
		return
	}
	c.markers = append(c.markers, kind)
	switch {
	case len(c.markers) == 1 && kind == "start":
		c.open, c.firstLine = true, true
	default:
		// An end, or any marker after the first: the section ends here,
		// and a third marker makes the name invalid anyway.
		c.open = false
	}
}

// feed sends section bytes to every open capture.
func (e *Extractor) feed(p []byte) {
	if len(p) == 0 {
		return
	}
	for _, c := range e.caps {
		if !c.open {
			continue
		}
		q := p
		if c.firstLine {
			i := bytes.IndexByte(q, '\n')
			if i < 0 {
				continue
			}
			c.firstLine = false
			q = q[i+1:]
		}
		c.content.write(q)
	}
}

// Result finishes the log and returns what it yields.
func (e *Extractor) Result() Result {
	e.scan(true)
	r := Result{LogBytes: e.total, Tail: lastLines(string(e.tail.bytes()), e.tailLines)}
	for _, n := range preferred {
		c := e.caps[n]
		if len(c.markers) != 2 || c.markers[0] != "start" || c.markers[1] != "end" {
			continue
		}
		r.Section = n
		r.Output = trimTrailingEmptyLines(string(c.content.bytes()))
		r.CutBytes = c.content.cut()
		break
	}
	return r
}

// Extract is Extractor over a whole log.
func Extract(log string) Result {
	e := NewExtractor(len(log)+1, 20)
	_, _ = e.Write([]byte(log))
	return e.Result()
}

func trimTrailingEmptyLines(s string) string {
	lines := strings.Split(s, "\n")
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return strings.Join(lines, "\n")
}

func lastLines(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	if n <= 0 || s == "" {
		return ""
	}
	idx := len(s)
	for range n {
		i := strings.LastIndexByte(s[:idx], '\n')
		if i < 0 {
			return s
		}
		idx = i
	}
	return s[idx+1:]
}

// tailBuffer keeps the last max bytes written.
type tailBuffer struct {
	max     int
	buf     []byte
	dropped int64
}

func (t *tailBuffer) write(p []byte) {
	if t.max <= 0 {
		t.dropped += int64(len(p))
		return
	}
	if len(p) >= t.max {
		t.dropped += int64(len(t.buf) + len(p) - t.max)
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		return
	}
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.max {
		cut := len(t.buf) - t.max
		t.dropped += int64(cut)
		t.buf = append(t.buf[:0], t.buf[cut:]...)
	}
}

// cut is how many bytes written are not in bytes().
func (t *tailBuffer) cut() int64 {
	return t.dropped + int64(max(0, len(t.buf)-t.max))
}

func (t *tailBuffer) bytes() []byte {
	if len(t.buf) > t.max {
		return t.buf[len(t.buf)-t.max:]
	}
	return t.buf
}
