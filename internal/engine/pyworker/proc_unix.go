//go:build unix

package pyworker

import (
	"os/exec"
	"syscall"
)

func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killProcessGroup kills the worker and every process it started.
func killProcessGroup(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	// The group may already be gone; there is nothing to do then.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
