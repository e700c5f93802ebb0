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
	nul     bool // a NUL byte was written: not text
}

// NewFile returns a File for the reply file called name (as the reply
// names it) that keeps at most maxReply bytes.
func NewFile(name string, maxReply int) *File {
	return &File{name: name, content: replyBuffer{max: max(maxReply, 0)}}
}

// Write implements io.Writer; it never fails.
func (f *File) Write(p []byte) (int, error) {
	if !f.nul && bytes.IndexByte(p, 0) >= 0 {
		f.nul = true
	}
	f.content.write(p)
	return len(p), nil
}

// Result returns the file's text: File is its name, Output its content
// (trailing newlines dropped), raw, or only its tail when it exceeded the
// limit, CutBytes counting the bytes cut from its start, as for a section.
func (f *File) Result() Result {
	out, cut := f.content.result()
	return Result{File: f.name, Output: out, CutBytes: cut}
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
	return odd*4 > len(f.content.ring.buf)
}
