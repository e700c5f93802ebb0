package joblog

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzExtract(f *testing.F) {
	f.Add(stepScript+chatReply, 7, 1000)
	f.Add(stepScript, 1, 10)
	f.Add("section_start:1:chat_reply\r\x1b[0K\nx\nsection_end:1:chat_reply\r\x1b[0K", 3, 2)
	f.Add("section_start:1:chat_reply[a=b, c=d]\r\x1b[0K\nx\n\n\nsection_end:1:chat_reply\r\x1b[0Ksection_", 5, 1)
	f.Add("section_start:1:step_script\r\x1b[0Kh\n\xffé\nsection_end:1:step_script\r\x1b[0K", 9, 3)
	f.Fuzz(func(t *testing.T, log string, seed int, maxReply int) {
		maxReply = max(0, maxReply%4096)
		whole := NewExtractor(maxReply, 5)
		_, _ = whole.Write([]byte(log))
		want := whole.Result()

		rng := rand.New(rand.NewPCG(uint64(seed), 1))
		got := feedChunks(log, maxReply, func() int { return 1 + rng.IntN(16) })
		if got != want {
			t.Fatalf("chunked %+v\n   whole %+v", got, want)
		}
		if len(got.Output) > maxReply {
			t.Fatalf("output %d bytes over %d", len(got.Output), maxReply)
		}
		// The limited output is the tail of GitLab's exact output.
		sec, out := referenceExtract(log)
		if sec != got.Section || int64(len(out)) != got.CutBytes+int64(len(got.Output)) || !strings.HasSuffix(out, got.Output) {
			t.Fatalf("reference (%q, %q), got %+v", sec, out, got)
		}
		if r := Extract(log); r.Section != sec || r.Output != out {
			t.Fatalf("Extract %+v, reference (%q, %q)", r, sec, out)
		}
	})
}

func FuzzClean(f *testing.F) {
	for _, s := range []string{"\x1b[32;1m$ ls\x1b[0;m", "a\rb", "\x1b]8;;http://x\x1b\\link", "\xff\x1b", "2024-05-01T10:00:00.123456Z 01O x",
		"x\r\x1b[Ky\b\bz", "section_start:1:a[b=c]\r\x1b[0Kd", "\x1bP1;2q\x1b\\e", "\u009b31m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Clean(s)
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 out of %q", s)
		}
		if strings.ContainsAny(got, "\x1b\r\b\x00") {
			t.Fatalf("control left in %q", got)
		}
		if strings.Count(got, "\n") != strings.Count(s, "\n") {
			t.Fatalf("line count changed: %q", got)
		}
	})
}
