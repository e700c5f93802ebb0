package joblog

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// readFile writes content to a File in chunks of the given size.
func readFile(content string, maxReply, chunk int) *File {
	f := NewFile("chat_reply.md", maxReply)
	for len(content) > 0 {
		n := min(chunk, len(content))
		_, _ = f.Write([]byte(content[:n]))
		content = content[n:]
	}
	return f
}

func TestFile(t *testing.T) {
	tests := []struct {
		name, content string
		max           int
		out           string
		cut           int64
		binary        bool
	}{
		{"markdown", "# Deployed\n\n**v1.4.2** to production\n", 100, "# Deployed\n\n**v1.4.2** to production", 0, false},
		// A file has no header line: its first line is the reply's.
		{"one line", "done", 100, "done", 0, false},
		{"trailing empty lines", "a\n\n\n\n", 100, "a", 0, false},
		{"leading empty lines kept", "\n\na", 100, "\n\na", 0, false},
		{"empty", "", 100, "", 0, false},
		// The kept tail starts at a line: the end of a cut line goes too.
		{"tail kept", "first\nsecond\nthird\n", 6, "third", 13, false},
		{"tail kept from a line start", "first\nsecond\nthird\n", 5, "third", 13, false},
		{"one huge line is kept cut", "abcdefghij", 4, "ghij", 6, false},
		// A cut never splits a character: the rest of a cut é goes too.
		{"cut inside a character", "aé" + "bcd", 4, "bcd", 3, false},
		// Trailing newlines do not push the text out of the limit.
		{"newlines after a long tail", strings.Repeat("x", 10) + strings.Repeat("\n", 50), 4, "xxxx", 6, false},
		{"latin-1 is text", "caf\xe9 cr\xe8me br\xfbl\xe9e\n", 100, "caf\xe9 cr\xe8me br\xfbl\xe9e", 0, false},
		{"ansi is text", "\x1b[32mok\x1b[0m\r\n", 100, "\x1b[32mok\x1b[0m\r", 0, false},
		{"nul is binary", "text\x00more", 100, "text\x00more", 0, true},
		// A NUL in the part that was cut still makes it binary.
		{"nul cut away", "\x00" + strings.Repeat("a", 20), 5, "aaaaa", 16, true},
		{"png-like", "\x89PNG\r\n\x1a\n\x01\x02\x03\x04\xff\xfe\xfd\xfc", 100, "\x89PNG\r\n\x1a\n\x01\x02\x03\x04\xff\xfe\xfd\xfc", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, chunk := range []int{1, 3, len(tt.content) + 1} {
				f := readFile(tt.content, tt.max, chunk)
				r := f.Result()
				want := Result{File: "chat_reply.md", Output: tt.out, CutBytes: tt.cut}
				if r != want {
					t.Fatalf("chunks of %d: %+v, want %+v", chunk, r, want)
				}
				if f.Binary() != tt.binary {
					t.Fatalf("chunks of %d: binary %v, want %v", chunk, f.Binary(), tt.binary)
				}
			}
		})
	}
}

// FuzzFile checks that a reply file's output is the tail of its content
// without trailing newlines, within the limit, whatever the chunking.
func FuzzFile(f *testing.F) {
	f.Add("# Deployed\n\nv1.4.2\n\n", 7, 1000)
	f.Add("aé\n\n", 1, 2)
	f.Add("\x00\xff\n", 3, 1)
	f.Fuzz(func(t *testing.T, content string, seed int, maxReply int) {
		maxReply = max(0, maxReply%4096)
		whole := NewFile("r.md", maxReply)
		_, _ = whole.Write([]byte(content))
		want := whole.Result()

		chunked := NewFile("r.md", maxReply)
		writeChunked(chunked, content, seed)
		if got := chunked.Result(); got != want || chunked.Binary() != whole.Binary() {
			t.Fatalf("chunked %+v\n   whole %+v", got, want)
		}
		if len(want.Output) > maxReply {
			t.Fatalf("output %d bytes over %d", len(want.Output), maxReply)
		}
		text := strings.TrimRight(content, "\n")
		if !strings.HasSuffix(text, want.Output) || int64(len(text)) != want.CutBytes+int64(len(want.Output)) {
			t.Fatalf("content %q: output %q cut %d", content, want.Output, want.CutBytes)
		}
		if want.File != "r.md" || want.Section != "" {
			t.Fatalf("result %+v", want)
		}
	})
}

// A file read from its top (Markdown) keeps its start and counts what
// was cut from its end.
func TestFileHead(t *testing.T) {
	tests := []struct {
		name, content string
		max           int
		out           string
		cut           int64
	}{
		{"whole", "# Deployed\n\nv1.4.2\n", 100, "# Deployed\n\nv1.4.2", 0},
		{"start kept", "first\nsecond\nthird\n", 8, "first\nse", 10},
		{"cut inside a character", "abé" + "cd", 3, "ab", 4},
		{"cut after a character", "abé" + "cd", 4, "abé", 2},
		{"trailing newlines are not cut content", "abc" + strings.Repeat("\n", 50), 4, "abc", 0},
		{"newlines inside are", "ab\n\n\ncd", 3, "ab", 5},
		{"empty", "", 10, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, chunk := range []int{1, 3, len(tt.content) + 1} {
				f := NewFileHead("chat_reply.md", tt.max)
				for rest := tt.content; len(rest) > 0; {
					n := min(chunk, len(rest))
					_, _ = f.Write([]byte(rest[:n]))
					rest = rest[n:]
				}
				want := Result{File: "chat_reply.md", Output: tt.out, CutBytes: tt.cut, CutEnd: tt.cut > 0}
				if r := f.Result(); r != want {
					t.Fatalf("chunks of %d: %+v, want %+v", chunk, r, want)
				}
			}
		})
	}
	f := NewFileHead("x.md", 4)
	_, _ = f.Write([]byte("ab\x00" + strings.Repeat("z", 100)))
	if !f.Binary() {
		t.Error("a NUL in the kept start is not binary")
	}
}

// FuzzFileHead checks that a head-kept file's output is a start of its
// content within the limit, whatever the chunking, and that what it
// kept and cut add up to the content.
func FuzzFileHead(f *testing.F) {
	f.Add("# Deployed\n\nv1.4.2\n\n", 7, 1000)
	f.Add("aé\n\n", 1, 2)
	f.Fuzz(func(t *testing.T, content string, seed int, maxReply int) {
		maxReply = max(0, maxReply%4096)
		whole := NewFileHead("r.md", maxReply)
		_, _ = whole.Write([]byte(content))
		want := whole.Result()
		chunked := NewFileHead("r.md", maxReply)
		writeChunked(chunked, content, seed)
		if got := chunked.Result(); got != want || chunked.Binary() != whole.Binary() {
			t.Fatalf("chunked %+v\n   whole %+v", got, want)
		}
		text := strings.TrimRight(content, "\n")
		if len(want.Output) > maxReply || !strings.HasPrefix(text, want.Output) ||
			int64(len(text)) != want.CutBytes+int64(len(want.Output)) || want.CutEnd != (want.CutBytes > 0) {
			t.Fatalf("content %q, max %d: output %q cut %d", content, maxReply, want.Output, want.CutBytes)
		}
	})
}

// writeChunked writes content to f in pieces of 1 to 16 bytes, their
// sizes drawn from seed, as a response body arrives.
func writeChunked(f *File, content string, seed int) {
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	for rest := content; len(rest) > 0; {
		n := min(len(rest), 1+rng.IntN(16))
		_, _ = f.Write([]byte(rest[:n]))
		rest = rest[n:]
	}
}
