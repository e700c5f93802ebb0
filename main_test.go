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
func buildBinary(t *testing.T) string {
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
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = strings.NewReader(input)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "CHATOPS_CONFIG=")
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
		{"help", "help\n", []string{"» help", "Commands", "ping — Check that the bot is alive", "@opsbot help"}},
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

func TestBinaryConfigErrors(t *testing.T) {
	bin := buildBinary(t)
	cfg := filepath.Join(t.TempDir(), "bad.toml")
	if err := os.WriteFile(cfg, []byte("[shell]\nusr = \"typo\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := runBinary(t, bin, "", "-config", cfg)
	if code != 1 || !strings.Contains(errOut, `line 2: unknown key "shell.usr"`) {
		t.Fatalf("code %d, stderr %q", code, errOut)
	}
	_, errOut, code = runBinary(t, bin, "", "-config", filepath.Join(t.TempDir(), "missing.toml"))
	if code != 1 || !strings.Contains(errOut, "no such file") {
		t.Fatalf("code %d, stderr %q", code, errOut)
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
