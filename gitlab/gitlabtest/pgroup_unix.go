//go:build unix

package gitlabtest

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup runs a job's shell in a process group of its own, as a
// runner's jobs run apart from whoever started them: Ctrl-C in the
// terminal running the demo stops the bot, not the simulated job (whose
// death would be reported as the user's job failing). The context still
// kills the whole group.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
