package study

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/llenergymeasure/llem/internal/redact"
	"github.com/llenergymeasure/llem/results"
)

// Error types recorded for failed runs, beside those the child reports
// itself (experiment_error, panic, or a TypedError's own).
const (
	ErrTypeTimeout       = "timeout"
	ErrTypeCrashed       = "crashed"
	ErrTypeKilled        = "killed"
	ErrTypeExitStatus    = "exit_status"
	ErrTypeMissingResult = "missing_result"
	ErrTypeInvalidResult = "invalid_result"
	ErrTypeInterrupted   = "interrupted"
	ErrTypeSpawn         = "spawn_failed"
	// ErrTypeGPUSettings: the GPU settings a run changes (gpu:) could not
	// be read, to be recorded, before it.
	ErrTypeGPUSettings = "gpu_settings"
)

// job is one run handed to a launcher.
type job struct {
	req     ChildRequest
	logPath string
	timeout time.Duration
	// lock is the study's lock file: the child inherits it, so a child
	// that outlives a killed runner keeps the study locked.
	lock *os.File
	// onProgress receives the child's progress events, from one goroutine.
	onProgress func(Progress)
}

// outcome is what became of a job: a result, or a failure with its type.
type outcome struct {
	result   *results.ExperimentResult
	state    results.RunState // completed, failed or interrupted
	errType  string
	err      string
	exitCode int
	killedBy string
	// sha256 is the checksum of the result.json written for a completed run.
	sha256 string
}

// launcher runs one job; the process launcher is the real one, tests and
// benchmarks may run jobs in-process.
type launcher interface {
	launch(ctx context.Context, j job) outcome
}

// processLauncher re-executes a binary per run (STU-1).
type processLauncher struct {
	exe       string
	args      []string
	env       []string
	killGrace time.Duration
	// redact removes secret values from what the child writes to its log.
	redact *redact.Redactor
}

func (l processLauncher) launch(ctx context.Context, j job) outcome {
	fail := func(typ string, err error) outcome {
		return outcome{state: results.StateFailed, errType: typ, err: err.Error()}
	}
	reqJSON, err := json.Marshal(j.req)
	if err != nil {
		return fail(ErrTypeSpawn, fmt.Errorf("encode run request: %w", err))
	}
	logf, err := os.OpenFile(j.logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fail(ErrTypeSpawn, fmt.Errorf("open run log: %w", err))
	}
	defer logf.Close()
	resR, resW, err := os.Pipe()
	if err != nil {
		return fail(ErrTypeSpawn, fmt.Errorf("result pipe: %w", err))
	}
	defer resR.Close()
	progR, progW, err := os.Pipe()
	if err != nil {
		resW.Close()
		return fail(ErrTypeSpawn, fmt.Errorf("progress pipe: %w", err))
	}
	defer progR.Close()

	cmd := exec.Command(l.exe, l.args...)
	cmd.Env = l.env
	cmd.Stdin = bytes.NewReader(reqJSON)
	cmd.Stdout = logf
	cmd.Stderr = logf
	var logDone chan struct{}
	if !l.redact.Empty() {
		// The child's output passes through a redacting copy, so a secret
		// value it prints never reaches run.log.
		outR, outW, err := os.Pipe()
		if err != nil {
			resW.Close()
			progW.Close()
			return fail(ErrTypeSpawn, fmt.Errorf("log pipe: %w", err))
		}
		defer outR.Close()
		defer outW.Close()
		cmd.Stdout, cmd.Stderr = outW, outW
		logDone = make(chan struct{})
		go func() {
			defer close(logDone)
			w := l.redact.Writer(logf)
			_, _ = io.Copy(w, outR)
			_ = w.Close()
		}()
	}
	// The lifeline's write end stays here until the child is done; it
	// closes when this process dies, however, telling the child.
	lifeR, lifeW, err := os.Pipe()
	if err != nil {
		resW.Close()
		progW.Close()
		return fail(ErrTypeSpawn, fmt.Errorf("lifeline pipe: %w", err))
	}
	defer lifeW.Close()
	cmd.ExtraFiles = []*os.File{resW, progW, lifeR} // fd 3, 4, 5
	if j.lock != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, j.lock) // fd 6
	}
	cmd.SysProcAttr = childSysProcAttr()
	runtime.LockOSThread() // see childSysProcAttr
	defer runtime.UnlockOSThread()
	err = cmd.Start()
	resW.Close()
	progW.Close()
	lifeR.Close()
	if f, ok := cmd.Stdout.(*os.File); ok && f != logf {
		f.Close()
	}
	if err != nil {
		return fail(ErrTypeSpawn, fmt.Errorf("start %s: %w", l.exe, err))
	}
	pgid := cmd.Process.Pid

	replyCh := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(resR, maxReplyBytes))
		replyCh <- b
	}()
	progDone := make(chan struct{})
	go func() {
		defer close(progDone)
		sc := bufio.NewScanner(progR)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var p Progress
			if json.Unmarshal(sc.Bytes(), &p) == nil && j.onProgress != nil {
				j.onProgress(p)
			}
		}
	}()
	waitCh := make(chan error, 1)
	go func() { waitCh <- cmd.Wait() }()

	var timer <-chan time.Time
	if j.timeout > 0 {
		t := time.NewTimer(j.timeout)
		defer t.Stop()
		timer = t.C
	}
	var stopReason string // why llem stopped the child, if it did
	var sigkilled bool
	select {
	case <-waitCh:
	case <-timer:
		stopReason = ErrTypeTimeout
		sigkilled = l.terminate(pgid, waitCh)
	case <-ctx.Done():
		stopReason = ErrTypeInterrupted
		sigkilled = l.terminate(pgid, waitCh)
	}
	// Whatever the child left behind in its group goes too.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)

	var reply []byte
	select {
	case reply = <-replyCh:
	case <-time.After(2 * time.Second):
		// A grandchild still holds the pipe open; what came is lost.
	}
	resR.Close()
	progR.Close()
	<-progDone
	if logDone != nil {
		select {
		case <-logDone:
		case <-time.After(2 * time.Second): // a grandchild holds the pipe
		}
	}

	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	o := decodeReply(reply)
	o.exitCode = cmd.ProcessState.ExitCode()
	note := func(format string, args ...any) {
		fmt.Fprintf(logf, "\nllem: "+format+"\n", args...)
	}
	switch {
	case stopReason == ErrTypeTimeout:
		how := "SIGTERM"
		if sigkilled {
			how = "SIGKILL after SIGTERM was ignored for " + l.killGrace.String()
		}
		note("run exceeded its timeout of %s and was stopped (%s)", j.timeout, how)
		return outcome{state: results.StateFailed, errType: ErrTypeTimeout, err: fmt.Sprintf("exceeded the experiment timeout of %s; the process group was stopped with %s", j.timeout, how)}
	case stopReason == ErrTypeInterrupted:
		note("run interrupted by the user")
		return outcome{state: results.StateInterrupted, errType: ErrTypeInterrupted, err: fmt.Sprintf("interrupted while in progress: %v", context.Cause(ctx))}
	case ws.Signaled():
		sig := ws.Signal()
		if sig == syscall.SIGKILL {
			o = outcome{state: results.StateFailed, errType: ErrTypeKilled, err: "the child was killed by SIGKILL, not by llem: most likely the kernel's out-of-memory killer (check `dmesg`)"}
		} else {
			o = outcome{state: results.StateFailed, errType: ErrTypeCrashed, err: fmt.Sprintf("the child crashed: killed by signal %d (%s)", int(sig), sig)}
		}
		o.killedBy = sig.String()
		note("%s", o.err)
		return o
	case o.errType != "":
		o.state = results.StateFailed
		if o.exitCode == 0 {
			o.exitCode = -1
		}
		return o
	case !ws.Exited() || ws.ExitStatus() != 0:
		note("child exited with status %d", ws.ExitStatus())
		return outcome{state: results.StateFailed, errType: ErrTypeExitStatus, err: fmt.Sprintf("the child exited with status %d without reporting an error", ws.ExitStatus()), exitCode: ws.ExitStatus()}
	case o.result == nil:
		note("child exited without sending a result")
		return outcome{state: results.StateFailed, errType: ErrTypeMissingResult, err: "the child exited successfully but sent no result over the result pipe"}
	}
	o.state = results.StateCompleted
	return o
}

// terminate stops the child's process group: SIGTERM, then SIGKILL after
// the grace period. It reports whether SIGKILL was needed.
func (l processLauncher) terminate(pgid int, waitCh <-chan error) bool {
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	t := time.NewTimer(l.killGrace)
	defer t.Stop()
	select {
	case <-waitCh:
		return false
	case <-t.C:
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-waitCh
		return true
	}
}

// decodeReply parses what came over the result pipe; an outcome with an
// error type set means the run failed.
func decodeReply(b []byte) outcome {
	if len(bytes.TrimSpace(b)) == 0 {
		return outcome{}
	}
	var r childReply
	if err := json.Unmarshal(b, &r); err != nil {
		return outcome{errType: ErrTypeInvalidResult, err: fmt.Sprintf("the child's reply is not valid JSON (%d bytes): %v", len(b), err)}
	}
	if r.Error != "" {
		typ := r.ErrorType
		if typ == "" {
			typ = "experiment_error"
		}
		return outcome{errType: typ, err: r.Error}
	}
	if r.Result == nil {
		return outcome{errType: ErrTypeInvalidResult, err: "the child's reply holds neither a result nor an error"}
	}
	return outcome{result: r.Result}
}

// logTail returns the last lines of a log file (at most maxLines lines
// and 4 KiB), for the manifest.
func logTail(path string, maxLines int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const maxBytes = 4 << 10
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(st.Size()-maxBytes, 0)
	b := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(b, off); err != nil && !errors.Is(err, io.EOF) {
		return ""
	}
	s := strings.TrimRight(string(b), "\n")
	lines := strings.Split(s, "\n")
	if off > 0 && len(lines) > 1 {
		lines = lines[1:] // the first line is cut
	}
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	return strings.Join(lines, "\n")
}
