package joblog

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	esc = "\x1b"
	// GitLab's own test vector (spec/lib/gitlab/chat/output_spec.rb).
	stepScript = "section_start:1604068175:step_script\r" + esc + "[0K" + esc + "[0K" + esc + "[36;1mExecuting \"step_script\" stage of the job script" + esc + "[0;m\n" +
		esc + "[0;m" + esc + "[32;1m$ echo \"success!\"" + esc + "[0;m\n" +
		"success!\n" +
		"section_end:1604068175:step_script\r" + esc + "[0K"
	chatReply = "section_start:1604068175:chat_reply\r\x1b[0K\nChat Reply\nsection_end:1604068175:chat_reply\r\x1b[0K"
)

func TestExtractGitLabVectors(t *testing.T) {
	tests := []struct {
		name, log, section, output string
	}{
		{"chat_reply wins", stepScript + "\n" + chatReply, "chat_reply", "Chat Reply"},
		{"step_script", stepScript, "step_script", esc + "[0;m" + esc + "[32;1m$ echo \"success!\"" + esc + "[0;m\nsuccess!"},
		{"build_script (runner < 13.1)", strings.ReplaceAll(stepScript, "step_script", "build_script"), "build_script", esc + "[0;m" + esc + "[32;1m$ echo \"success!\"" + esc + "[0;m\nsuccess!"},
		{"no section yet", "Running with gitlab-runner 17.5.0\n", "", ""},
		{"duplicated chat_reply falls back", stepScript + chatReply + chatReply, "step_script", esc + "[0;m" + esc + "[32;1m$ echo \"success!\"" + esc + "[0;m\nsuccess!"},
		{"end before start is ignored", "section_end:1:chat_reply\r\x1b[0Kx\nsection_start:1:chat_reply\r\x1b[0K\nhi\n" + stepScript, "step_script", esc + "[0;m" + esc + "[32;1m$ echo \"success!\"" + esc + "[0;m\nsuccess!"},
		{"section never closed", "section_start:1:chat_reply\r\x1b[0K\nnever ends\n", "", ""},
		{"text after the start marker is the dropped first line", "section_start:1:chat_reply\r\x1b[0Kheader text\nkept\nsection_end:1:chat_reply\r\x1b[0K", "chat_reply", "kept"},
		{"marker after other text on its line", "\x1b[0;msection_start:1:chat_reply\r\x1b[0K\nA\n\x1b[0;msection_end:1:chat_reply\r\x1b[0K", "chat_reply", "A\n\x1b[0;m"},
		{"options in the marker", "section_start:1:chat_reply[collapsed=true]\r\x1b[0K\nA\nsection_end:1:chat_reply\r\x1b[0K", "chat_reply", "A"},
		{"trailing empty lines dropped", "section_start:1:chat_reply\r\x1b[0K\nA\n\n\nsection_end:1:chat_reply\r\x1b[0K", "chat_reply", "A"},
		{"CRLF kept raw", "section_start:1:chat_reply\r\x1b[0K\r\nA\r\nB\r\nsection_end:1:chat_reply\r\x1b[0K", "chat_reply", "A\r\nB\r"},
		{"single-line section is empty", "section_start:1:chat_reply\r\x1b[0Konly header section_end:1:chat_reply\r\x1b[0K", "chat_reply", ""},
		{"invalid UTF-8 passes through", "section_start:1:chat_reply\r\x1b[0K\n\xff\xfe ok\nsection_end:1:chat_reply\r\x1b[0K", "chat_reply", "\xff\xfe ok"},
		{"timestamped log", "2024-05-01T10:00:00.123456Z 01O section_start:1:chat_reply\r\x1b[0K\n2024-05-01T10:00:00.123457Z 01O hello\n2024-05-01T10:00:00.123458Z 01O section_end:1:chat_reply\r\x1b[0K", "chat_reply", "2024-05-01T10:00:00.123457Z 01O hello\n2024-05-01T10:00:00.123458Z 01O "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Extract(tt.log)
			if r.Section != tt.section || r.Output != tt.output {
				t.Fatalf("Extract = (%q, %q), want (%q, %q)", r.Section, r.Output, tt.section, tt.output)
			}
			// The same log fed in every chunk size gives the same result.
			for _, size := range []int{1, 2, 3, 7, 13, 64} {
				if got := extractChunked(tt.log, func() int { return size }); got.Section != r.Section || got.Output != r.Output {
					t.Fatalf("chunks of %d: (%q, %q)", size, got.Section, got.Output)
				}
			}
		})
	}
}

func extractChunked(log string, size func() int) Result {
	e := NewExtractor(len(log)+1, 20)
	for len(log) > 0 {
		n := min(max(size(), 1), len(log))
		_, _ = e.Write([]byte(log[:n]))
		log = log[n:]
	}
	return e.Result()
}

func TestMarkerSplitAtEveryOffset(t *testing.T) {
	log := "noise\n" + stepScript + "\n" + chatReply + "\ntrailer\n"
	want := Extract(log)
	for i := 0; i <= len(log); i++ {
		e := NewExtractor(1<<20, 20)
		_, _ = e.Write([]byte(log[:i]))
		_, _ = e.Write([]byte(log[i:]))
		if got := e.Result(); got.Section != want.Section || got.Output != want.Output {
			t.Fatalf("split at %d: (%q, %q), want (%q, %q)", i, got.Section, got.Output, want.Section, want.Output)
		}
	}
}

func TestMaxReplyKeepsTheTail(t *testing.T) {
	var b strings.Builder
	b.WriteString("section_start:1:chat_reply\r\x1b[0K\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "line %04d\n", i)
	}
	b.WriteString("section_end:1:chat_reply\r\x1b[0K")
	e := NewExtractor(100, 3)
	_, _ = io.Copy(e, strings.NewReader(b.String()))
	r := e.Result()
	if !strings.HasSuffix(r.Output, "line 0999") || len(r.Output) > 100 {
		t.Fatalf("output %q", r.Output)
	}
	if full := Extract(b.String()).Output; r.CutBytes != int64(len(full)-len(r.Output)) || full[r.CutBytes:] != r.Output {
		t.Fatalf("CutBytes = %d", r.CutBytes)
	}
	if r.Tail != "line 0998\nline 0999\nsection_end:1:chat_reply\r\x1b[0K" {
		t.Fatalf("Tail = %q", r.Tail)
	}
}

func TestRunnerLogsGolden(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.log"))
	if len(files) == 0 {
		t.Fatal("no runner logs in testdata")
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r := Extract(string(raw))
		got := fmt.Sprintf("section: %s\n---\n%s\n", r.Section, Clean(r.Output))
		golden := strings.TrimSuffix(f, ".log") + ".golden"
		if *update {
			_ = os.WriteFile(golden, []byte(got), 0o644)
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (go test -update creates it)", err)
		}
		if got != string(want) {
			t.Fatalf("%s:\n%s\nwant:\n%s", f, got, want)
		}
	}
}

func FuzzExtract(f *testing.F) {
	f.Add(stepScript+chatReply, 7, 1000)
	f.Add(stepScript, 1, 10)
	f.Add("section_start:1:chat_reply\r\x1b[0K\nx\nsection_end:1:chat_reply\r\x1b[0K", 3, 2)
	f.Fuzz(func(t *testing.T, log string, seed, maxReply int) {
		maxReply = max(1, maxReply%4096)
		whole := NewExtractor(maxReply, 5)
		_, _ = whole.Write([]byte(log))
		want := whole.Result()
		rng := rand.New(rand.NewPCG(uint64(seed), 1))
		e := NewExtractor(maxReply, 5)
		rest := log
		for len(rest) > 0 {
			n := min(1+rng.IntN(16), len(rest))
			_, _ = e.Write([]byte(rest[:n]))
			rest = rest[n:]
		}
		got := e.Result()
		if got.Section != want.Section || got.Output != want.Output || got.CutBytes != want.CutBytes {
			t.Fatalf("chunked (%q, %q, %d) != whole (%q, %q, %d)", got.Section, got.Output, got.CutBytes, want.Section, want.Output, want.CutBytes)
		}
		if len(got.Output) > maxReply {
			t.Fatalf("output %d bytes over %d", len(got.Output), maxReply)
		}
	})
}

// runnerLog builds a realistic log of about size bytes whose step_script
// holds most of the output and whose chat_reply is short.
func runnerLog(size int) []byte {
	var b bytes.Buffer
	b.WriteString("\x1b[0KRunning with gitlab-runner 17.5.0 (4ffd5c2b)\x1b[0;m\n")
	b.WriteString("section_start:1700000000:step_script\r\x1b[0K\x1b[0K\x1b[36;1mExecuting \"step_script\" stage of the job script\x1b[0;m\n")
	b.WriteString("\x1b[32;1m$ ./build.sh\x1b[0;m\n")
	for i := 0; b.Len() < size-200; i++ {
		fmt.Fprintf(&b, "2024-05-01T10:00:00.123456Z 01O compiling module %d: \x1b[33mok\x1b[0m\n", i)
	}
	b.WriteString("section_start:1700000001:chat_reply\r\x1b[0K\nbuild done\nsection_end:1700000001:chat_reply\r\x1b[0K\n")
	b.WriteString("section_end:1700000002:step_script\r\x1b[0K\n\x1b[32;1mJob succeeded\x1b[0;m\n")
	return b.Bytes()
}

func BenchmarkExtractReply(b *testing.B) {
	for _, size := range []int{1 << 20, 64 << 20} {
		log := runnerLog(size)
		b.Run(fmt.Sprintf("%dMB", size>>20), func(b *testing.B) {
			b.SetBytes(int64(len(log)))
			b.ReportAllocs()
			for b.Loop() {
				e := NewExtractor(64<<10, 20)
				// 32 KiB reads, as io.Copy from an HTTP body does.
				for off := 0; off < len(log); off += 32 << 10 {
					_, _ = e.Write(log[off:min(off+32<<10, len(log))])
				}
				if r := e.Result(); r.Section != "chat_reply" {
					b.Fatalf("section %q", r.Section)
				}
			}
		})
	}
}
