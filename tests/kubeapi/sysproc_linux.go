package kubeapi

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts cmd in a process group of its own, so that stopping
// it reaches whatever it started too, and has the kernel kill it should this
// process die without cleaning up (a test binary killed by its timeout).
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// signalGroup sends sig to the process group led by pid.
func signalGroup(pid int, sig syscall.Signal) error {
	return syscall.Kill(-pid, sig)
}

// killGroup kills the process group led by pid.
func killGroup(pid int) error {
	return signalGroup(pid, syscall.SIGKILL)
}
