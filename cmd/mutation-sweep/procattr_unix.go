//go:build unix

package main

import (
	"os/exec"
	"syscall"
)

// ownGroup starts the test command in its own process group, so a timeout
// kills go test and the test binary it started together.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
