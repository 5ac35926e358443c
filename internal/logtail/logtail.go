// Package logtail keeps the last bytes of a process's output, so errors
// about a worker, a server or a study child can quote what it said last.
package logtail

import (
	"io"
	"sync"
)

// Buffer is an io.Writer keeping the last Max bytes written, optionally
// copying everything to Log as well. It is safe for concurrent use.
type Buffer struct {
	mu  sync.Mutex
	buf []byte
	max int
	log io.Writer
}

// New returns a Buffer keeping max bytes and copying writes to log (nil: none).
func New(max int, log io.Writer) *Buffer { return &Buffer{max: max, log: log} }

// Write keeps the tail of p and copies p to the log. It never fails: a
// failing log must not stop a child's output from draining.
func (t *Buffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	if t.log != nil {
		_, _ = t.log.Write(p)
	}
	return len(p), nil
}

// String returns the kept tail.
func (t *Buffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
