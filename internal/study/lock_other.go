//go:build unix && !linux

package study

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// Elsewhere flock(2): the lock belongs to the open file, is inherited by
// children and is released by the kernel when the last holder exits.

func tryLock(f *os.File) (bool, error) {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.EWOULDBLOCK):
		return false, nil
	}
	return false, err
}

// isLocked tries a shared lock and drops it at once.
func isLocked(f *os.File) bool {
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		return errors.Is(err, unix.EWOULDBLOCK)
	}
	_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return false
}
