//go:build unix

package gitlabtest

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// A job's shell runs in its own process group: a Ctrl-C sent to the
// terminal's group (the bot's) does not reach it.
func TestShellExecRunsInItsOwnProcessGroup(t *testing.T) {
	out, code := ShellExec(context.Background(), t.TempDir(), os.Environ(), "ps -o pgid= -p $$")
	if code != 0 {
		t.Skipf("ps unavailable: %s", out)
	}
	pgid, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("ps said %q", out)
	}
	mine, _ := syscall.Getpgid(0)
	if pgid == mine {
		t.Fatalf("the job ran in the bot's process group %d", mine)
	}
}
