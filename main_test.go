package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
)

var (
	buildOnce sync.Once
	builtDir  string
	builtBin  string
	buildErr  error
)

// TestMain removes the binary buildBinary built.
func TestMain(m *testing.M) {
	code := m.Run()
	if builtDir != "" {
		_ = os.RemoveAll(builtDir)
	}
	os.Exit(code)
}

// buildBinary compiles chatops once per test binary run.
func buildBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		builtDir, buildErr = os.MkdirTemp("", "chatops-bin-")
		if buildErr != nil {
			return
		}
		builtBin = filepath.Join(builtDir, "chatops")
		cmd := exec.Command("go", "build", "-o", builtBin, ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// runBinary pipes input into the binary and returns stdout, stderr and the
// exit code.
func runBinary(t *testing.T, bin, input string, args ...string) (string, string, int) {
	t.Helper()
	return runBinaryEnv(t, bin, input, "", args...)
}

// runBinaryEnv is runBinary with $CHATOPS_CONFIG set to configEnv.
func runBinaryEnv(t *testing.T, bin, input, configEnv string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = strings.NewReader(input)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "CHATOPS_CONFIG="+configEnv)
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %s: %v", bin, err)
	}
	return stdout.String(), stderr.String(), code
}

func TestBinaryShellAdapter(t *testing.T) {
	bin := buildBinary(t)
	cfg := filepath.Join(t.TempDir(), "chatops.toml")
	if err := os.WriteFile(cfg, []byte("[bot]\nname = \"opsbot\"\n\n[shell]\nuser = \"tester\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, input string
		want        []string
	}{
		{"help", "help\n", []string{"» help", "Commands", "ping — Check that the bot is alive", "Type a command as shown"}},
		{"run without [gitlab]", "run deploy\n", []string{"GitLab is not configured", "[gitlab]", "chatops check"}},
		{"help for a command", "help ping\n", []string{"Usage: ping"}},
		{"unknown command", "pnig\n", []string{`Unknown command "pnig"`, "Did you mean ping?"}},
		{"unbalanced quote", "help \"ping\n", []string{"quote is not closed"}},
		{"blank lines ignored, EOF exits", "\n\n  \nping\n", []string{"pong"}},
		{"empty input", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runBinary(t, bin, tt.input, "-config", cfg)
			if code != 0 {
				t.Fatalf("exit code %d; stderr:\n%s", code, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, "\x1b[") {
				t.Errorf("ANSI escapes on a pipe:\n%q", out)
			}
		})
	}
}

// TestBinaryConfigErrors starts the built binary with broken
// configurations: each error names the line, the key and the fix.
func TestBinaryConfigErrors(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	missing := filepath.Join(dir, "missing.toml")
	tests := []struct {
		name     string
		args     []string
		env      string // $CHATOPS_CONFIG
		wantCode int
		want     []string
	}{
		{name: "bad URL", wantCode: 1,
			args: []string{"-config", write("url.toml", "[shell]\n[gitlab]\nurl = \"gitlab.example.com\"\ntoken = \"t\"\nproject = \"p\"\n")},
			want: []string{"line 3: [gitlab] url:", `"gitlab.example.com" is not an http(s) URL`, `fix: url = "https://gitlab.example.com"`}},
		{name: "wrong type", wantCode: 1,
			args: []string{"-config", write("type.toml", "[bot]\nworkers = \"many\"\n[shell]\n")},
			want: []string{"line 2: [bot] workers:", "must be an integer", "fix: write a number without quotes"}},
		{name: "bad duration", wantCode: 1,
			args: []string{"-config", write("duration.toml", "[shell]\n[bot]\nshutdown_grace = \"5 minutes\"\n")},
			want: []string{"line 3: [bot] shutdown_grace:", "not a duration", `fix: write a duration in quotes, e.g. shutdown_grace = "30s"`}},
		{name: "unknown key", wantCode: 1,
			args: []string{"-config", write("key.toml", "[shell]\nusr = \"typo\"\n")},
			want: []string{"line 2: [shell] usr: unknown key", "fix: did you mean user?"}},
		{name: "several problems, one per line", wantCode: 1,
			args: []string{"-config", write("many.toml", "[shell]\nusr = \"typo\"\n[bot]\nworkers = 2\ncatch_up = \"later\"\n")},
			want: []string{"line 5: [bot] catch_up:"}},
		{name: "env-var path", wantCode: 1, env: missing,
			want: []string{missing, "no such file", "taken from $CHATOPS_CONFIG"}},
		{name: "missing -config file", wantCode: 1, args: []string{"-config", missing},
			want: []string{missing, "no such file"}},
		{name: "positional argument", wantCode: 2, args: []string{"chatops.toml"},
			want: []string{`unexpected argument "chatops.toml"`, "chatops -config chatops.toml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runBinaryEnv(t, bin, "", tt.env, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.wantCode, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if strings.Contains(out, "demo") {
				t.Errorf("a broken start must not fall back to the demo:\n%s", out)
			}
		})
	}
}

// TestBinaryCheck runs `chatops check` against the GitLab fake.
func TestBinaryCheck(t *testing.T) {
	bin := buildBinary(t)
	demo, err := gitlabtest.NewDemo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer demo.Close()
	dir := t.TempDir()
	cfg := func(token string) string {
		p := filepath.Join(dir, fmt.Sprintf("chatops-%d.toml", len(token)))
		text := fmt.Sprintf("[shell]\n[gitlab]\nurl = %q\ntoken = %q\nproject = %q\n", demo.URL, token, demo.Project)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, token string
		code        int
		want        []string
	}{
		{"good config", demo.Token, 0, []string{"ok    config", "ok    store", "ok    gitlab     " + demo.URL + " as @" + gitlabtest.BotUser, "chat jobs", "All checks passed."}},
		{"bad token", "glpat-wrong-token", 1, []string{"FAIL  gitlab", "rejected the token (401)", "1 check(s) failed."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runBinary(t, bin, "", "check", "-config", cfg(tt.token))
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out+errOut, tt.token) {
				t.Errorf("the token appears in the output")
			}
		})
	}
}

// TestBinaryBadGitLabTokenStopsTheStart: an operator learns at start, not
// from the first user.
func TestBinaryBadGitLabTokenStopsTheStart(t *testing.T) {
	bin := buildBinary(t)
	demo, err := gitlabtest.NewDemo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer demo.Close()
	p := filepath.Join(t.TempDir(), "chatops.toml")
	text := fmt.Sprintf("[shell]\n[gitlab]\nurl = %q\ntoken = \"glpat-wrong-token\"\nproject = %q\n", demo.URL, demo.Project)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := runBinary(t, bin, "ping\n", "-config", p)
	if code != 1 || !strings.Contains(errOut, "GitLab check failed") || !strings.Contains(errOut, "rejected the token (401)") {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	if strings.Contains(errOut, "glpat-wrong-token") {
		t.Fatal("the token appears in stderr")
	}
}

func TestBinaryDemoMode(t *testing.T) {
	bin := buildBinary(t)
	out, errOut, code := runBinary(t, bin, "ping\n")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, w := range []string{"demo", "pong"} {
		if !strings.Contains(out, w) {
			t.Errorf("stdout lacks %q:\n%s", w, out)
		}
	}
}
