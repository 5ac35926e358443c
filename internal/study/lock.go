package study

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/llenergymeasure/llem/results"
)

// ErrLocked: another process writes in the study (or run) directory. The
// CLI exits 2.
var ErrLocked = errors.New("directory in use")

// LockHolder is what a lock file says about the process holding it.
type LockHolder struct {
	PID   int       `json:"pid"`
	Host  string    `json:"host"`
	Since time.Time `json:"since"`
}

// LockedError is returned when a directory's lock is held elsewhere.
type LockedError struct {
	Dir    string
	Holder LockHolder
	// Orphan: the holder has exited but a run process it started still
	// holds the lock (and perhaps the device).
	Orphan bool
}

func (e *LockedError) Error() string {
	h := e.Holder
	host := h.Host
	if host == "" {
		host = "an unknown host"
	}
	msg := fmt.Sprintf("study %s is in use by pid %d on %s since %s", e.Dir, h.PID, host, h.Since.Local().Format(time.RFC3339))
	if e.Orphan {
		msg += "; that process has exited but a run process it started still holds the directory (and perhaps the device): wait for it to end or stop it, then resume"
	}
	return msg
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// Lock is an exclusive lock on a directory: an open file description
// holding a kernel lock on its lock file, so the kernel releases it when
// every process holding the description has exited, however it ended. Run
// children inherit it, so a child that outlives its runner keeps the study
// locked until it is gone.
type Lock struct {
	f *os.File
}

// LockDir takes the exclusive lock on dir at once, or returns a
// *LockedError naming its holder. When the holder has exited on this host
// and only an orphaned run process of it still holds the lock, LockDir
// waits up to orphanWait for that process to end before refusing.
func LockDir(dir string, orphanWait time.Duration) (*Lock, error) {
	path := filepath.Join(dir, results.LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	began := time.Now()
	host, _ := os.Hostname()
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if ok {
			break
		}
		le := &LockedError{Dir: dir, Holder: readHolder(path)}
		le.Orphan = le.Holder.Host == host && le.Holder.PID > 0 && !processAlive(le.Holder.PID)
		switch {
		case le.Holder.PID <= 0 && time.Since(began) < time.Second:
			// The holder has just locked and not written its name yet.
			time.Sleep(5 * time.Millisecond)
			continue
		case le.Orphan && time.Since(began) < orphanWait:
			// An orphan, or the stale name of a holder that is gone while
			// a new one is about to write its own: look again shortly.
			time.Sleep(20 * time.Millisecond)
			continue
		}
		f.Close()
		return nil, le
	}
	b, _ := json.Marshal(LockHolder{PID: os.Getpid(), Host: host, Since: time.Now().UTC()})
	b = append(b, '\n')
	// Overwrite, then cut: the file is never empty for a reader.
	_, err = f.WriteAt(b, 0)
	if err == nil {
		err = f.Truncate(int64(len(b)))
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: record the holder: %w", path, err)
	}
	return &Lock{f: f}, nil
}

// File is the lock's open file, for children to inherit.
func (l *Lock) File() *os.File {
	if l == nil {
		return nil
	}
	return l.f
}

// Unlock releases the lock (children that inherited it keep it until they
// exit). The lock file stays: removing it would let two writers lock two
// different files.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// LockedBy reports whether dir's lock is held, and by whom, without taking
// it (readers such as llem report take no lock).
func LockedBy(dir string) (LockHolder, bool) {
	path := filepath.Join(dir, results.LockFile)
	f, err := os.Open(path)
	if err != nil {
		return LockHolder{}, false
	}
	defer f.Close()
	if !isLocked(f) {
		return LockHolder{}, false
	}
	return readHolder(path), true
}

// readHolder reads the first JSON value of the lock file (a longer
// earlier name may trail it for an instant).
func readHolder(path string) LockHolder {
	var h LockHolder
	if b, err := os.ReadFile(path); err == nil {
		_ = json.NewDecoder(bytes.NewReader(b)).Decode(&h)
	}
	return h
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
