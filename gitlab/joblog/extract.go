// Package joblog extracts the chat reply from a GitLab job log exactly as
// GitLab ChatOps does (the chat_reply section, else step_script, else
// build_script), streaming, so memory is bounded by the reply and not by
// the log, and cleans the result for display. It reads a reply file, a
// file a job keeps as an artifact to choose its reply, within the same
// bounds.
package joblog

import (
	"bytes"
)

// Sections in the order GitLab prefers them (lib/gitlab/chat/output.rb).
var preferred = [...]string{"chat_reply", "step_script", "build_script"}

// Result is what a log yields.
type Result struct {
	// Section is the section the output came from, or "" when the log has
	// no complete chat_reply, step_script or build_script section (yet):
	// GitLab then retries, as the log may not be complete.
	Section string
	// Output is the section's text per GitLab's rules (first line dropped,
	// trailing empty lines dropped), raw (ANSI codes and markers of other
	// sections kept); when the section exceeded the limit, only its tail.
	Output string
	// CutBytes is how many bytes of the output were dropped from its start
	// to respect the limit: Output is the exact output minus its first
	// CutBytes bytes (its last ones when CutEnd is set).
	CutBytes int64
	// CutEnd says CutBytes were dropped from the end of the output, not
	// its start: a reply file read from its top (File, NewFileHead).
	CutEnd bool
	// Tail is the last lines of the whole log, raw, for failed jobs.
	Tail string
	// LogBytes is the size of the log.
	LogBytes int64
	// File names the reply file (a job artifact, see File) that Output
	// came from instead of the log: Section, Tail and LogBytes are then
	// empty. "" when the output is the log's.
	File string
	// SkippedFile names a reply file the job kept that was not used
	// because it is not text (see File.Binary): the output is the log's.
	SkippedFile string
}

// capture follows one section name through the log.
type capture struct {
	name      string
	markers   int  // markers seen for this name
	valid     bool // the markers so far are [start] or [start end]
	open      bool // between its start and end marker
	firstLine bool // still inside the first line, which GitLab drops
	content   replyBuffer
}

// Extractor is an io.Writer that consumes a job log in chunks of any size,
// as io.Copy from an HTTP body does. Memory is bounded by the limits given
// to NewExtractor, not by the log.
type Extractor struct {
	pending []byte // bytes held back: they may begin a marker split across writes
	caps    [len(preferred)]capture
	tail    tailBuffer
	lines   int
	total   int64
	done    bool
	result  Result
}

// NewExtractor returns an Extractor keeping at most maxReply bytes of the
// chosen section (its tail) and the last tailLines lines of the log (at
// most tailLineBytes bytes per line on average).
func NewExtractor(maxReply, tailLines int) *Extractor {
	e := &Extractor{lines: tailLines}
	for i, n := range preferred {
		e.caps[i] = capture{name: n, content: replyBuffer{max: max(maxReply, 0)}}
	}
	if tailLines > 0 {
		e.tail.max = tailLines * tailLineBytes
	}
	return e
}

// tailLineBytes bounds Tail's memory: tailLines lines of this many bytes
// on average are kept.
const tailLineBytes = 1024

// Write implements io.Writer; it never fails. Writing after Result has no
// effect on the result already returned.
func (e *Extractor) Write(p []byte) (int, error) {
	n := len(p)
	e.total += int64(n)
	e.tail.write(p)
	// A possible marker is pending from the last write: join it with just
	// enough of p to decide it, so the large writes themselves are never
	// copied.
	for len(p) > 0 && len(e.pending) > 0 {
		k := min(len(p), 2*maxMarker)
		e.pending = append(e.pending, p[:k]...)
		rest := e.scan(e.pending, false)
		if len(rest) <= k {
			// Everything pending is decided; rest is p[k-len(rest):k].
			p = p[k-len(rest):]
			e.pending = e.pending[:0]
			break
		}
		e.pending = append(e.pending[:0], rest...)
		p = p[k:]
	}
	if len(p) > 0 {
		rest := e.scan(p, false)
		e.pending = append(e.pending[:0], rest...)
	}
	return n, nil
}

// scan feeds buf to the captures, handling every marker in it. Unless
// final, it stops before a possible marker that buf ends inside of, and
// returns those bytes to be held back until the next write.
func (e *Extractor) scan(buf []byte, final bool) []byte {
	const word = "section_"
	pos := 0  // bytes before pos are fed
	from := 0 // where to look for the next marker
	for {
		j := bytes.Index(buf[from:], []byte(word))
		if j < 0 {
			break
		}
		s := from + j
		out, n, start, lo, hi := matchMarker(buf[s:])
		switch out {
		case isMarker:
			e.feed(buf[pos:s])
			e.marker(buf[s:s+n], start, buf[s+lo:s+hi])
			pos, from = s+n, s+n
			continue
		case needMore:
			if !final {
				e.feed(buf[pos:s])
				return buf[s:]
			}
		}
		// Not a marker: GitLab's parser moves past "section_".
		from = s + len(word)
	}
	end := len(buf)
	if !final {
		end -= partialWord(buf[max(from, len(buf)-len(word)+1):], word)
	}
	e.feed(buf[pos:end])
	return buf[end:]
}

// partialWord returns the length of the longest suffix of b that is a
// proper prefix of word.
func partialWord(b []byte, word string) int {
	for n := min(len(word)-1, len(b)); n > 0; n-- {
		if string(b[len(b)-n:]) == word[:n] {
			return n
		}
	}
	return 0
}

// marker applies one marker. Its bytes belong to every other open section
// (GitLab takes all bytes between a section's two offsets, other sections'
// markers included).
func (e *Extractor) marker(raw []byte, start bool, name []byte) {
	var own *capture
	for i := range e.caps {
		if string(name) == e.caps[i].name {
			own = &e.caps[i]
		}
	}
	if own != nil {
		// Close first, so the section's own end marker is not its content.
		own.markers++
		switch own.markers {
		case 1:
			own.valid, own.firstLine = start, start
		case 2:
			own.valid = own.valid && !start
			own.open = false
		default:
			own.valid, own.open = false, false
		}
	}
	e.feed(raw)
	if own != nil && own.markers == 1 && start {
		own.open = true
	}
}

// feed appends section bytes to every open capture.
func (e *Extractor) feed(p []byte) {
	if len(p) == 0 {
		return
	}
	for i := range e.caps {
		c := &e.caps[i]
		if !c.open {
			continue
		}
		q := p
		if c.firstLine {
			k := bytes.IndexByte(q, '\n')
			if k < 0 {
				continue
			}
			c.firstLine = false
			q = q[k+1:]
		}
		c.content.write(q)
	}
}

// Result finishes the log and returns what it yields. Later calls return
// the same result.
func (e *Extractor) Result() Result {
	if e.done {
		return e.result
	}
	e.done = true
	e.scan(e.pending, true)
	e.pending = nil
	r := Result{LogBytes: e.total, Tail: e.tail.lastLines(e.lines)}
	for i := range e.caps {
		c := &e.caps[i]
		if c.markers != 2 || !c.valid {
			continue
		}
		r.Section = c.name
		r.Output, r.CutBytes = c.content.result()
		break
	}
	e.result = r
	return r
}

// Extract is the Extractor over a whole log, with no limit on the reply.
func Extract(log string) Result {
	e := NewExtractor(len(log), 20)
	_, _ = e.Write([]byte(log))
	return e.Result()
}
