//go:build unix && !linux

package study

import "syscall"

// childSysProcAttr puts the child in its own process group, so a timeout
// can stop everything it started.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
