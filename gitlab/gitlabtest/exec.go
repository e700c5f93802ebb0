package gitlabtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Exec runs one script line of a job in dir with env (KEY=value) and
// returns its combined output and exit code.
type Exec func(ctx context.Context, dir string, env []string, line string) (output string, exitCode int)

// ShellExec runs the line with bash (GitLab Runner's usual shell), or sh
// where bash is missing, as a runner's shell executor would.
func ShellExec(ctx context.Context, dir string, env []string, line string) (string, int) {
	shell := "bash"
	if _, err := exec.LookPath(shell); err != nil {
		shell = "sh"
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, shell, "-c", line)
	cmd.Dir = dir
	cmd.Env = env
	ownProcessGroup(cmd)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &ee):
		return out.String(), ee.ExitCode()
	default:
		return out.String() + err.Error() + "\n", 1
	}
}

// Runner log pieces, as GitLab Runner writes them.
const (
	ansiReset = "\x1b[0;m"
	ansiClear = "\x1b[0K"
)

func sectionStart(name, header string) string {
	return fmt.Sprintf("section_start:%d:%s\r%s%s\x1b[36;1m%s%s%s\n", time.Now().Unix(), name, ansiClear, ansiClear, header, ansiReset, ansiReset)
}

func sectionEnd(name string) string {
	return fmt.Sprintf("section_end:%d:%s\r%s", time.Now().Unix(), name, ansiClear)
}

// commandEcho is the green "$ cmd" line the runner prints before a command.
func commandEcho(line string) string {
	return "\x1b[32;1m$ " + strings.ReplaceAll(line, "\n", "\n ") + ansiReset + "\n"
}

func logHeader(jobID int64) string {
	return ansiClear + "Running with gitlab-runner 17.5.0 (chatops fake)" + ansiReset + "\n" +
		ansiClear + fmt.Sprintf("  on fake-runner %d, system ID: s_fake", jobID) + ansiReset + "\n" +
		sectionStart("prepare_executor", `Preparing the "shell" executor`) +
		ansiClear + "Using Shell (bash) executor..." + ansiReset + "\n" +
		sectionEnd("prepare_executor") +
		sectionStart("step_script", `Executing "step_script" stage of the job script`)
}

// SleepExec runs no process: a `sleep N` line (N in seconds, fractions
// allowed) waits N seconds or until the job is canceled, `exit N` fails
// with code N, `echo text` prints text, and any other line does nothing.
// It makes hundreds of concurrent jobs cheap, for load tests.
func SleepExec(ctx context.Context, _ string, _ []string, line string) (string, int) {
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return "", 0
	}
	switch fields[0] {
	case "sleep":
		if len(fields) != 2 {
			return "sleep: missing operand\n", 1
		}
		secs, err := strconv.ParseFloat(fields[1], 64)
		if err != nil || secs < 0 {
			return "sleep: invalid time interval '" + fields[1] + "'\n", 1
		}
		t := time.NewTimer(time.Duration(secs * float64(time.Second)))
		defer t.Stop()
		select {
		case <-t.C:
			return "", 0
		case <-ctx.Done():
			return "", 143
		}
	case "exit":
		code := 0
		if len(fields) > 1 {
			code, _ = strconv.Atoi(fields[1])
		}
		return "", code
	case "echo":
		return strings.Trim(strings.TrimSpace(strings.TrimPrefix(line, "echo")), `"'`) + "\n", 0
	}
	return "", 0
}
