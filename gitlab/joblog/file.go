package joblog

import (
	"bytes"
	"unicode/utf8"
)

// File reads a reply file, a file the job kept as an artifact to choose
// its reply, as the Extractor reads a section: an io.Writer for the file's
// body, in chunks of any size, keeping at most maxReply bytes (the tail)
// however large the file, and dropping trailing empty lines. Unlike a
// section, the first line is the reply's: a file has no header line.
type File struct {
	name    string
	content replyBuffer
	head    *headBuffer // instead of content: the file is read from its top
	nul     bool        // a NUL byte was written: not text
}

// NewFile returns a File for the reply file called name (as the reply
// names it) that keeps at most maxReply bytes: the file's end, as for a
// log.
func NewFile(name string, maxReply int) *File {
	return &File{name: name, content: replyBuffer{max: max(maxReply, 0)}}
}

// NewFileHead is NewFile for a file read from its top, such as a
// Markdown document, whose start is what a reader needs: it keeps the
// file's first maxReply bytes, and Result reports the bytes cut from its
// end (CutEnd).
func NewFileHead(name string, maxReply int) *File {
	return &File{name: name, head: &headBuffer{max: max(maxReply, 0)}}
}

// Write implements io.Writer; it never fails.
func (f *File) Write(p []byte) (int, error) {
	if !f.nul && bytes.IndexByte(p, 0) >= 0 {
		f.nul = true
	}
	if f.head != nil {
		f.head.write(p)
	} else {
		f.content.write(p)
	}
	return len(p), nil
}

// Result returns the file's text: File is its name, Output its content
// (trailing newlines dropped), raw, or only its tail when it exceeded the
// limit, CutBytes counting the bytes cut from its start, as for a section.
// A File from NewFileHead keeps the start instead, and sets CutEnd when
// it cut.
func (f *File) Result() Result {
	if f.head != nil {
		out, cut := f.head.result()
		return Result{File: f.name, Output: out, CutBytes: cut, CutEnd: cut > 0}
	}
	out, cut := f.content.result()
	return Result{File: f.name, Output: out, CutBytes: cut}
}

// headBuffer keeps the first max bytes written to it, and counts the
// rest. Trailing newlines are not content (GitLab drops trailing empty
// lines from a reply), so a file that only ends in more of them than fit
// is not cut.
type headBuffer struct {
	max      int
	buf      []byte
	total    int64 // bytes written
	newlines int64 // newlines ending what was written
}

func (h *headBuffer) write(p []byte) {
	h.total += int64(len(p))
	if k := len(bytes.TrimRight(p, "\n")); k == 0 {
		h.newlines += int64(len(p))
	} else {
		h.newlines = int64(len(p) - k)
	}
	if room := h.max - len(h.buf); room > 0 {
		h.buf = append(h.buf, p[:min(room, len(p))]...)
	}
}

// result returns the kept start without trailing newlines, and how many
// bytes of content were cut from the end. A cut never splits a UTF-8
// sequence.
func (h *headBuffer) result() (string, int64) {
	out := h.buf
	if int64(len(out)) < h.total {
		// Drop the start of a character cut in two.
		i := len(out) - 1
		for i > 0 && len(out)-i < utf8.UTFMax && out[i]&0xC0 == 0x80 {
			i--
		}
		if i >= 0 && out[i] >= utf8.RuneSelf && !utf8.FullRune(out[i:]) {
			out = out[:i]
		}
	}
	out = bytes.TrimRight(out, "\n")
	return string(out), max(h.total-h.newlines-int64(len(out)), 0)
}

// Binary reports a file that is not text, so that showing it would show
// garbage: it holds a NUL byte, or more than a quarter of what was kept
// is neither UTF-8 nor a character text uses (tab, newline, carriage
// return, form feed, backspace, escape). Text in another encoding, such
// as Latin-1 with a few accented letters, is still text: its stray bytes
// become U+FFFD when cleaned.
func (f *File) Binary() bool {
	if f.nul {
		return true
	}
	b := f.content.ring.bytes()
	if f.head != nil {
		b = f.head.buf
	}
	kept := len(b)
	odd := 0
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && n == 1:
			odd++
		case r < 0x20 && r != '\t' && r != '\n' && r != '\r' && r != '\f' && r != '\b' && r != 0x1b:
			odd++
		}
		b = b[n:]
	}
	return odd*4 > kept
}
