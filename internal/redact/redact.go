// Package redact removes secret values (API keys read from the
// environment) from text before it is stored or printed: error messages,
// log lines, log tails.
package redact

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"sync"
)

// Mask replaces a secret's value.
const Mask = "[redacted]"

// Redactor replaces secret values with Mask. The zero value and nil
// redact nothing.
type Redactor struct {
	olds []string
}

// New returns a Redactor of values; empty values are ignored. Each value is
// also matched as it appears inside a JSON string, where a server may have
// escaped it.
func New(values ...string) *Redactor {
	r := &Redactor{}
	seen := map[string]bool{}
	add := func(v string) {
		if v != "" && !seen[v] {
			seen[v] = true
			r.olds = append(r.olds, v)
		}
	}
	for _, v := range values {
		add(v)
		if b, err := json.Marshal(v); err == nil {
			add(string(b[1 : len(b)-1]))
		}
	}
	return r
}

// Empty reports whether r has nothing to redact.
func (r *Redactor) Empty() bool { return r == nil || len(r.olds) == 0 }

// String returns s with every secret value replaced by Mask.
func (r *Redactor) String(s string) string {
	if r.Empty() {
		return s
	}
	for _, o := range r.olds {
		s = strings.ReplaceAll(s, o, Mask)
	}
	return s
}

// maxLine bounds what a Writer buffers waiting for a newline; a longer
// line is redacted and written in pieces, keeping the last secret length
// of bytes back so a value cut between pieces is still caught.
const maxLine = 64 << 10

// Writer returns a writer that redacts whole lines before writing them to
// w; Close writes what is left after the last newline.
func (r *Redactor) Writer(w io.Writer) io.WriteCloser {
	return &lineWriter{r: r, w: w}
}

type lineWriter struct {
	mu  sync.Mutex
	r   *Redactor
	w   io.Writer
	buf []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	var out string
	if i := bytes.LastIndexByte(l.buf, '\n'); i >= 0 {
		out = l.r.String(string(l.buf[:i+1]))
		l.buf = append(l.buf[:0], l.buf[i+1:]...)
	} else if len(l.buf) > maxLine {
		// No newline in a long stretch: redact it all and write all but a
		// tail that can hold the start of a value not complete yet.
		red := l.r.String(string(l.buf))
		keep := 0
		for _, o := range l.r.olds {
			keep = max(keep, len(o)-1)
		}
		out = red[:len(red)-keep]
		l.buf = append(l.buf[:0], red[len(red)-keep:]...)
	}
	if out == "" {
		return len(p), nil
	}
	if _, err := io.WriteString(l.w, out); err != nil {
		return len(p), err
	}
	return len(p), nil
}

func (l *lineWriter) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) == 0 {
		return nil
	}
	_, err := io.WriteString(l.w, l.r.String(string(l.buf)))
	l.buf = nil
	return err
}
