package study

import "syscall"

// childSysProcAttr puts the child in its own process group (so a timeout
// can stop everything it started) and has the kernel send it SIGTERM if the
// runner dies, so no orphaned run keeps the device busy under a resumed
// study (the child then checks its lifeline and ends its group; see
// watchSignals). The launching goroutine holds its OS thread for the
// child's life, since the signal follows the thread that forked.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
