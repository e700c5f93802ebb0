//go:build !unix

package gitlabtest

import "os/exec"

// ownProcessGroup is a no-op where process groups are not Unix ones.
func ownProcessGroup(*exec.Cmd) {}
