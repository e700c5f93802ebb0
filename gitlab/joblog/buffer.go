package joblog

import "bytes"

// ring keeps the last max bytes written to it. Its array grows with what
// is written, up to max, so a short output costs little whatever the limit.
type ring struct {
	max   int
	buf   []byte // grows to len max, then wraps
	next  int    // where the next byte goes once full
	total int64  // bytes ever written
	// prev is the byte just before the kept ones (the last one that fell
	// out), meaningful once something was cut: it tells whether the kept
	// bytes start at a line boundary.
	prev byte
}

func (r *ring) write(p []byte) {
	r.total += int64(len(p))
	if r.max <= 0 || len(p) == 0 {
		return
	}
	if len(p) >= r.max {
		if len(p) > r.max {
			r.prev = p[len(p)-r.max-1]
		} else if len(r.buf) > 0 { // the newest old byte
			r.prev = r.buf[(r.next+len(r.buf)-1)%len(r.buf)]
		}
		r.buf = append(r.buf[:0], p[len(p)-r.max:]...)
		r.next = 0
		return
	}
	if room := r.max - len(r.buf); room > 0 {
		n := min(room, len(p))
		r.buf = append(r.buf, p[:n]...)
		p = p[n:]
	}
	for len(p) > 0 { // full: overwrite the oldest bytes
		r.prev = r.buf[r.next+min(len(p), len(r.buf)-r.next)-1]
		n := copy(r.buf[r.next:], p)
		p = p[n:]
		r.next = (r.next + n) % r.max
	}
}

// bytes returns the kept bytes in order (a new slice).
func (r *ring) bytes() []byte {
	out := make([]byte, 0, len(r.buf))
	out = append(out, r.buf[r.next:]...)
	return append(out, r.buf[:r.next]...)
}

// replyBuffer keeps the tail of a section's output. Trailing newlines are
// held as a count and only written once more text follows, because GitLab
// drops trailing empty lines: a run of newlines at the end must not push
// the real output out of the limit.
type replyBuffer struct {
	max      int
	ring     ring
	newlines int64 // newlines seen but not yet written
}

var newlineBlock = bytes.Repeat([]byte{'\n'}, 256)

func (b *replyBuffer) write(p []byte) {
	if len(p) == 0 {
		return
	}
	b.ring.max = b.max
	k := len(bytes.TrimRight(p, "\n"))
	if k == 0 {
		b.newlines += int64(len(p))
		return
	}
	b.flushNewlines()
	b.ring.write(p[:k])
	b.newlines = int64(len(p) - k)
}

func (b *replyBuffer) flushNewlines() {
	if b.newlines == 0 {
		return
	}
	// Only the last max newlines can stay in the ring.
	n := b.newlines
	skip := n - int64(b.max)
	if skip > 0 {
		b.ring.total += skip
		n -= skip
	}
	for n > 0 {
		m := min(n, int64(len(newlineBlock)))
		b.ring.write(newlineBlock[:m])
		n -= m
	}
	if skip > 0 {
		b.ring.prev = '\n' // the kept newlines follow skipped ones
	}
	b.newlines = 0
}

// result returns the output (trailing newlines dropped) and how many of its
// bytes were cut from the front. A cut output starts at a line boundary:
// the cut lands anywhere, and the rest of a line cut in two may begin
// inside a runner timestamp prefix or an ANSI escape sequence, which Clean
// can no longer recognise and would show as debris ("[32;1m", "56Z 01O ").
// That partial line is dropped too and counted in the cut, unless it is
// all there is (one huge line); then only a UTF-8 sequence cut in two is
// dropped.
func (b *replyBuffer) result() (string, int64) {
	out := b.ring.bytes()
	cut := b.ring.total - int64(len(out))
	if cut > 0 && b.ring.prev != '\n' {
		i := bytes.IndexByte(out, '\n') + 1
		if i == 0 || i == len(out) {
			// Skip continuation bytes of a character that was cut in two.
			i = 0
			for i < len(out) && i < 3 && out[i]&0xC0 == 0x80 {
				i++
			}
		}
		out, cut = out[i:], cut+int64(i)
	}
	return string(out), cut
}

// tailBuffer keeps the end of the whole log for Tail.
type tailBuffer struct {
	ring
}

// lastLines returns the last n lines of what was kept, without the final
// newline. When the buffer was cut mid-line, that partial line is dropped
// unless it is all there is.
func (t *tailBuffer) lastLines(n int) string {
	if n <= 0 {
		return ""
	}
	s := bytes.TrimRight(t.ring.bytes(), "\n")
	idx := len(s)
	for range n {
		i := bytes.LastIndexByte(s[:idx], '\n')
		if i < 0 {
			if t.total > int64(t.max) && idx < len(s) {
				// s[:idx] may be the end of a longer line: drop it.
				return string(s[idx+1:])
			}
			return string(s)
		}
		idx = i
	}
	return string(s[idx+1:])
}
