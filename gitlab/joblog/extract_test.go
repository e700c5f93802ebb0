package joblog

import (
	"fmt"
	"github.com/chatops-dev/chatops/bot/bottest"
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
	chatReply  = "section_start:1604068175:chat_reply\r\x1b[0K\nChat Reply\nsection_end:1604068175:chat_reply\r\x1b[0K"
	stepOutput = esc + "[0;m" + esc + "[32;1m$ echo \"success!\"" + esc + "[0;m\nsuccess!"
)

func TestExtractGitLabVectors(t *testing.T) {
	tests := []struct {
		name, log, section, output string
	}{
		{"chat_reply wins", stepScript + chatReply, "chat_reply", "Chat Reply"},
		{"step_script", stepScript, "step_script", stepOutput},
		{"build_script (runner < 13.1)", strings.ReplaceAll(stepScript, "step_script", "build_script"), "build_script", stepOutput},
		{"no section yet", "Running with gitlab-runner 17.5.0\n", "", ""},
		{"empty log", "", "", ""},
		{"duplicated chat_reply falls back", stepScript + chatReply + chatReply, "step_script", stepOutput},
		{"chat_reply start twice falls back", stepScript + "section_start:1:chat_reply\r\x1b[0K\nx\n" + chatReply, "step_script", stepOutput},
		{"end before start is ignored", "section_end:1:chat_reply\r\x1b[0Kx\nsection_start:1:chat_reply\r\x1b[0K\nhi\n" + stepScript, "step_script", stepOutput},
		{"section never closed", "section_start:1:chat_reply\r\x1b[0K\nnever ends\n", "", ""},
		{"step_script never closed", "section_start:1:step_script\r\x1b[0K\n$ sleep 600\n", "", ""},
		{"text after the start marker is the dropped first line", "section_start:1:chat_reply\r\x1b[0Kheader text\nkept\nsection_end:1:chat_reply\r\x1b[0K", "chat_reply", "kept"},
		{"marker after other text on its line", "\x1b[0;msection_start:1:chat_reply\r\x1b[0K\nA\n\x1b[0;msection_end:1:chat_reply\r\x1b[0K", "chat_reply", "A\n\x1b[0;m"},
		{"options in the marker", "section_start:1:chat_reply[collapsed=true, a=b,c=d]\r\x1b[0K\nA\nsection_end:1:chat_reply\r\x1b[0K", "chat_reply", "A"},
		{"bad options: not a marker", "section_start:1:chat_reply[collapsed]\r\x1b[0K\nA\nsection_end:1:chat_reply\r\x1b[0K", "", ""},
		{"no \\e[0K: not a marker", "section_start:1:chat_reply\r\nA\nsection_end:1:chat_reply\r\x1b[0K", "", ""},
		{"trailing empty lines dropped", "section_start:1:chat_reply\r\x1b[0K\nA\n\n\nsection_end:1:chat_reply\r\x1b[0K", "chat_reply", "A"},
		{"leading empty lines kept", "section_start:1:chat_reply\r\x1b[0K\n\n\nA\nsection_end:1:chat_reply\r\x1b[0K", "chat_reply", "\n\nA"},
		{"CRLF kept raw", "section_start:1:chat_reply\r\x1b[0K\r\nA\r\nB\r\nsection_end:1:chat_reply\r\x1b[0K", "chat_reply", "A\r\nB\r"},
		{"single-line section is empty", "section_start:1:chat_reply\r\x1b[0Konly header section_end:1:chat_reply\r\x1b[0K", "chat_reply", ""},
		{"invalid UTF-8 passes through", "section_start:1:chat_reply\r\x1b[0K\n\xff\xfe ok\nsection_end:1:chat_reply\r\x1b[0K", "chat_reply", "\xff\xfe ok"},
		{"ANSI kept raw", "section_start:1:chat_reply\r\x1b[0K\n\x1b[31mred\x1b[0m\nsection_end:1:chat_reply\r\x1b[0K", "chat_reply", "\x1b[31mred\x1b[0m"},
		{"other sections' markers are part of the output", "section_start:1:step_script\r\x1b[0Kh\na\nsection_start:2:inner[collapsed=true]\r\x1b[0Kb\nsection_end:3:inner\r\x1b[0K\nsection_end:4:step_script\r\x1b[0K",
			"step_script", "a\nsection_start:2:inner[collapsed=true]\r\x1b[0Kb\nsection_end:3:inner\r\x1b[0K"},
		{"name containing section_", "section_start:1:my_section_start\r\x1b[0K\n" + chatReply, "chat_reply", "Chat Reply"},
		{"timestamped log", "2024-05-01T10:00:00.123456Z 01O section_start:1:chat_reply\r\x1b[0K\n2024-05-01T10:00:00.123457Z 01O hello\n2024-05-01T10:00:00.123458Z 01O section_end:1:chat_reply\r\x1b[0K", "chat_reply", "2024-05-01T10:00:00.123457Z 01O hello\n2024-05-01T10:00:00.123458Z 01O "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Extract(tt.log)
			if r.Section != tt.section || r.Output != tt.output || r.CutBytes != 0 || r.LogBytes != int64(len(tt.log)) {
				t.Fatalf("Extract = (%q, %q, cut %d, %d bytes), want (%q, %q)", r.Section, r.Output, r.CutBytes, r.LogBytes, tt.section, tt.output)
			}
			if sec, out := referenceExtract(tt.log); sec != r.Section || out != r.Output {
				t.Fatalf("reference = (%q, %q)", sec, out)
			}
			checkStreaming(t, tt.log, 1<<20)
		})
	}
}

func TestCleanGitLabVector(t *testing.T) {
	if got := Clean(Extract(stepScript).Output); got != "$ echo \"success!\"\nsuccess!" {
		t.Fatalf("Clean = %q", got)
	}
}

// TestRunnerLogsGolden runs every log in testdata (GitLab's vectors and
// GitLab Runner logs) through Extract and Clean.
func TestRunnerLogsGolden(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.log"))
	if len(files) < 6 {
		t.Fatalf("only %d logs in testdata", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			r := Extract(string(raw))
			if sec, out := referenceExtract(string(raw)); sec != r.Section || out != r.Output {
				t.Fatalf("reference = (%q, %q), Extract = (%q, %q)", sec, out, r.Section, r.Output)
			}
			checkStreaming(t, string(raw), 1<<20)
			checkStreaming(t, string(raw), 40)
			got := fmt.Sprintf("section: %s\nraw: %q\n--- clean\n%s\n--- tail (clean)\n%s\n",
				r.Section, r.Output, Clean(r.Output), Clean(r.Tail))
			golden := strings.TrimSuffix(f, ".log") + ".golden"
			bottest.Golden(t, golden, got)
		})
	}
}

// The golden files are reviewed by hand once; these pin the facts that
// matter so a careless -update cannot change them.
func TestRunnerLogsFacts(t *testing.T) {
	read := func(name string) Result {
		raw, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return Extract(string(raw))
	}
	for _, tt := range []struct{ file, section, clean string }{
		{"gitlab-vector-chat-reply.log", "chat_reply", "Chat Reply"},
		{"gitlab-vector-step-script.log", "step_script", "$ echo \"success!\"\nsuccess!"},
		{"duplicated-chat-reply.log", "step_script", "attempt 1\n\n\nattempt 2"},
		{"legacy-build-script-crlf.log", "build_script", "README.md\nmain.go"},
		{"still-running.log", "", ""},
		{"deploy-collapsed-section.log", "step_script", "downloading 100%\n$ echo -e \"section_end:"},
	} {
		r := read(tt.file)
		if r.Section != tt.section || !strings.Contains(Clean(r.Output), tt.clean) {
			t.Errorf("%s: section %q, clean output:\n%s", tt.file, r.Section, Clean(r.Output))
		}
	}
}
