package joblog

import (
	"testing"
)

func TestClean(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"sgr colours", "\x1b[0;m\x1b[32;1m$ echo \"success!\"\x1b[0;m\nsuccess!", "$ echo \"success!\"\nsuccess!"},
		{"erase to end of line", "\x1b[0Kdone\x1b[0K", "done"},
		{"progress bar erased with CR and EL", "downloading 10%\r\x1b[Kdone", "done"},
		{"whole line erased", "abc\x1b[2K\rX", "X"},
		{"erase from start", "abc\x1b[1Kx", "   x"},
		{"backspace spinner", "working |\b/\b-", "working -"},
		{"osc hyperlink", "\x1b]8;;https://x\x1b\\link\x1b]8;;\x1b\\", "link"},
		{"unterminated escape", "text\x1b[12", "text"},
		{"lone escape", "a\x1b", "a"},
		{"c1 control dropped", "a\u009bb", "ab"},
		{"timestamp after a lone CR", "2024-05-01T10:00:00.123456Z 01O 10%\r2024-05-01T10:00:01.123456Z 01O+100%", "100%"},
		{"not a timestamp", "2024-05-01 10:00:00 hi", "2024-05-01 10:00:00 hi"},
		{"leaked marker with options", "a section_start:1:x[collapsed=true]\r\x1b[0Kb", "a b"},
		{"text that only looks like a marker stays", "section_start:1:x", "section_start:1:x"},
		{"osc title", "\x1b]0;title\x07text", "text"},
		{"carriage return overwrite", "progress 10%\rprogress 100%", "progress 100%"},
		{"shorter overwrite keeps the rest", "abcdef\rXY", "XYcdef"},
		{"crlf", "a\r\nb\r\n", "a\nb\n"},
		{"timestamps", "2024-05-01T10:00:00.123456Z 01O hello\n2024-05-01T10:00:00.123457Z 0fE world", "hello\nworld"},
		// FF_TIMESTAMPS: a record flagged "+" continues the previous line
		// (the runner flushed a partial line), as GitLab's log view joins.
		{"continuation joins the line", "2024-05-01T10:00:00.123456Z 01O hello \n2024-05-01T10:00:00.123457Z 01O+world", "hello world"},
		{"chain of continuations", "2024-05-01T10:00:00.000001Z 01O a\n2024-05-01T10:00:00.000002Z 01O+b\n2024-05-01T10:00:00.000003Z 01O+c\n2024-05-01T10:00:00.000004Z 01O d", "abc\nd"},
		{"continuation keeps colours out", "2024-05-01T10:00:00.000001Z 01O \x1b[32;1mlong \n2024-05-01T10:00:00.000002Z 01O+line\x1b[0;m\n", "long line\n"},
		{"continuation on the first line", "2024-05-01T10:00:00.000002Z 01O+tail", "tail"},
		{"continuation after crlf", "2024-05-01T10:00:00.000001Z 01O x\r\n2024-05-01T10:00:00.000002Z 01O+y", "xy"},
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
