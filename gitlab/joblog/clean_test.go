package joblog

import (
	"flag"
	"strings"
	"testing"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestClean(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"sgr colours", "\x1b[0;m\x1b[32;1m$ echo \"success!\"\x1b[0;m\nsuccess!", "$ echo \"success!\"\nsuccess!"},
		{"erase line", "\x1b[0Kdone\x1b[2K", "done"},
		{"osc title", "\x1b]0;title\x07text", "text"},
		{"carriage return overwrite", "progress 10%\rprogress 100%", "progress 100%"},
		{"shorter overwrite keeps the rest", "abcdef\rXY", "XYcdef"},
		{"crlf", "a\r\nb\r\n", "a\nb\n"},
		{"timestamps", "2024-05-01T10:00:00.123456Z 01O hello\n2024-05-01T10:00:00.123457Z 0fE+world", "hello\nworld"},
		{"leaked marker", "section_start:1:chat_reply\r\x1b[0Kinside", "inside"},
		{"invalid utf8", "ok \xff", "ok \uFFFD"},
		{"controls dropped, tabs kept", "a\tb\x07c\x00", "a\tbc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Clean(tt.in); got != tt.want {
				t.Fatalf("Clean(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzClean(f *testing.F) {
	for _, s := range []string{"\x1b[32;1m$ ls\x1b[0;m", "a\rb", "\x1b]8;;http://x\x1b\\link", "\xff\x1b", "2024-05-01T10:00:00.123456Z 01O x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Clean(s)
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 out of %q", s)
		}
		if strings.ContainsAny(got, "\x1b\r") {
			t.Fatalf("escape or CR left in %q", got)
		}
	})
}
