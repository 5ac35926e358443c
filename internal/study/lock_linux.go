package study

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// Linux uses open-file-description locks: like flock(2) they belong to the
// open file (inherited by children, released by the kernel when the last
// holder exits), and F_OFD_GETLK lets a reader test the lock without
// taking it, so a report never makes a starting writer fail.

func tryLock(f *os.File) (bool, error) {
	lk := unix.Flock_t{Type: unix.F_WRLCK}
	err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EACCES):
		return false, nil
	}
	return false, err
}

func isLocked(f *os.File) bool {
	lk := unix.Flock_t{Type: unix.F_RDLCK}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_GETLK, &lk); err != nil {
		return false
	}
	return lk.Type != unix.F_UNLCK
}
