package pyworker

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/llenergymeasure/llem/internal/logtail"
)

// proc is a running worker: a local process or a container.
type proc struct {
	stdin  io.WriteCloser
	stdout io.Reader
	// wait blocks until the worker ends; nil means exit status 0, otherwise
	// the error says how it ended ("exit status 3", "signal: killed").
	wait func() error
	// kill ends the worker (and its children) at once.
	kill func()
	// release frees what is left once the worker has ended (a container).
	release func() error
	// pid is the local worker's process id; 0 in a container.
	pid    int
	stderr *tail
}

// line is one line read from the worker's stdout.
type line struct {
	text []byte
	err  error
}

// conn is the protocol spoken over one proc. Calls are sequential.
type conn struct {
	p      *proc
	lines  chan line
	exited chan struct{}
	// waitErr is set before exited is closed.
	waitErr error
	nextID  int
	lineNo  int
	// broken is the error that ended the conversation, returned by every
	// later call.
	broken error
	mu     sync.Mutex
}

// maxLine bounds one protocol line (a reply for a large batch with token
// ids and timestamps).
const maxLine = 256 << 20

func newConn(p *proc) *conn {
	c := &conn{p: p, lines: make(chan line), exited: make(chan struct{})}
	go c.read()
	go func() {
		c.waitErr = p.wait()
		close(c.exited)
	}()
	return c
}

func (c *conn) read() {
	r := bufio.NewReaderSize(c.p.stdout, 64<<10)
	for {
		b, err := r.ReadBytes('\n')
		if len(b) > maxLine {
			err = fmt.Errorf("line longer than %d bytes", maxLine)
		}
		if len(b) > 0 && err == nil {
			c.lines <- line{text: b}
			continue
		}
		if err == nil {
			continue
		}
		if len(b) > 0 && errors.Is(err, io.EOF) {
			// A last line without its newline is still a line.
			c.lines <- line{text: b}
		}
		c.lines <- line{err: err}
		close(c.lines)
		return
	}
}

// call sends one request and decodes the reply's body into out.
func (c *conn) call(ctx context.Context, op string, body, out any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return fmt.Errorf("worker %s: worker no longer usable: %w", op, c.broken)
	}
	// A context ended before anything is sent leaves the worker in step:
	// refuse the call without killing it (roundTrip's select could also
	// pick a fast reply over the ended context).
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("worker %s: %w", op, err)
	}
	err := c.roundTrip(ctx, op, body, out)
	var werr *WorkerError
	if err != nil && !errors.As(err, &werr) {
		// Anything but an exception the worker caught leaves the protocol in
		// an unknown state: end the worker.
		c.broken = err
		c.p.kill()
	}
	return err
}

func (c *conn) roundTrip(ctx context.Context, op string, body, out any) error {
	c.nextID++
	id := c.nextID
	msg, err := json.Marshal(request{ID: id, Op: op, Body: body})
	if err != nil {
		return fmt.Errorf("worker %s: encode request: %w", op, err)
	}
	if _, err := c.p.stdin.Write(append(msg, '\n')); err != nil {
		return c.exitError(op, fmt.Errorf("write request: %w", err))
	}
	for {
		select {
		case <-ctx.Done():
			c.p.kill()
			c.waitExit(5 * time.Second)
			return fmt.Errorf("worker %s: %w; worker killed%s", op, ctx.Err(), tailNote(c.p.stderr))
		case l, ok := <-c.lines:
			if !ok || l.err != nil {
				var readErr error
				if ok {
					readErr = l.err
				}
				return c.exitError(op, readErr)
			}
			c.lineNo++
			var r reply
			if err := json.Unmarshal(l.text, &r); err != nil {
				return &ProtocolError{Line: c.lineNo, Text: truncate(string(l.text), 200), Problem: "not a JSON reply (" + err.Error() + ")"}
			}
			if r.ID != id {
				return &ProtocolError{Line: c.lineNo, Text: truncate(string(l.text), 200),
					Problem: fmt.Sprintf("reply to request %d while waiting for %d", r.ID, id)}
			}
			if !r.OK {
				if r.Error == nil {
					return &ProtocolError{Line: c.lineNo, Text: truncate(string(l.text), 200), Problem: "failed reply without an error"}
				}
				r.Error.Op = op
				return r.Error
			}
			if out != nil {
				if err := json.Unmarshal(r.Body, out); err != nil {
					return &ProtocolError{Line: c.lineNo, Text: truncate(string(l.text), 200), Problem: "reply body does not decode: " + err.Error()}
				}
			}
			return nil
		}
	}
}

// exitError waits briefly for the worker to end and reports how it ended,
// with the tail of its stderr.
func (c *conn) exitError(op string, cause error) error {
	exit := "still running, stdout closed"
	if c.waitExit(10 * time.Second) {
		exit = "exit status 0"
		if c.waitErr != nil {
			exit = c.waitErr.Error()
		}
	} else if cause != nil {
		exit += ": " + cause.Error()
	}
	return &ExitError{Op: op, Exit: exit, StderrTail: c.p.stderr.String()}
}

// waitExit reports whether the worker ended within d.
func (c *conn) waitExit(d time.Duration) bool {
	select {
	case <-c.exited:
		return true
	case <-time.After(d):
		return false
	}
}

// close asks the worker to shut down, then makes sure it has ended.
func (c *conn) close(grace time.Duration) error {
	var shutdownErr error
	if c.broken == nil {
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		shutdownErr = c.call(ctx, "shutdown", struct{}{}, nil)
		cancel()
	}
	c.p.stdin.Close()
	if !c.waitExit(grace) {
		c.p.kill()
		c.waitExit(5 * time.Second)
	}
	go func() {
		for range c.lines { // let the reader finish
		}
	}()
	var releaseErr error
	if c.p.release != nil {
		releaseErr = c.p.release()
	}
	return errors.Join(shutdownErr, releaseErr)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func tailNote(t *tail) string {
	if s := t.String(); s != "" {
		return "; end of its stderr:\n" + s
	}
	return ""
}

// tail keeps the last bytes written to it and forwards everything to an
// optional log writer.
// tail is the worker's stderr: the last bytes for error messages, copied to the run log.
type tail = logtail.Buffer

func newTail(max int, log io.Writer) *tail { return logtail.New(max, log) }
