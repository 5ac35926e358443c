package study

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/event"
	"github.com/llenergymeasure/llem/results"
)

// File descriptors of the child protocol. The request arrives on stdin;
// stdout and stderr are the run's log.
const (
	// ResultFD carries one JSON childReply from child to parent.
	ResultFD = 3
	// ProgressFD carries Progress events as JSON lines from child to parent.
	ProgressFD = 4
	// LifelineFD is the read end of a pipe nobody writes to: the parent
	// holds the write end, so it reads end-of-file (POLLHUP) once the
	// parent process is gone, however it died.
	LifelineFD = 5
)

// maxReplyBytes bounds what the parent reads from the result pipe.
const maxReplyBytes = 512 << 20

// ChildRequest is what the parent hands a child: one run to measure.
type ChildRequest struct {
	Config                config.ExperimentConfig `json:"config"`
	MeasurementConfigHash string                  `json:"measurement_config_hash"`
	// StudyName names the study, for the run's time series.
	StudyName string `json:"study_name,omitempty"`
	// RunIndex is the run's 0-based position in the study plan.
	RunIndex int `json:"run_index"`
	// Cycle counts from 1.
	Cycle int `json:"cycle"`
	// RunDir is the run's own directory: the child writes
	// timeseries.parquet (results.TimeseriesFile) there and sets the
	// result's TimeseriesPath relative to it. The parent writes result.json.
	RunDir string `json:"run_dir"`
	// BaseDir is the study file's folder, against which relative paths in
	// the configuration (a dataset file) resolve: the child's working
	// directory need not be the user's.
	BaseDir string `json:"base_dir,omitempty"`
	// Machine is the host's environment snapshot, taken once for the study
	// by the parent (Options.Machine): the run completes it with what may
	// change between runs instead of taking it all again. Nil means the
	// run takes the whole snapshot itself.
	Machine *results.EnvironmentSnapshot `json:"machine,omitempty"`

	progress *progressWriter
	// report, when set, receives progress in-process (Options.InProcess).
	report func(Progress)
}

// Progress is a phase or progress report from a running child (CLI-5).
type Progress = event.Progress

// Report sends a progress event to the parent. It is safe for concurrent
// use, and does nothing outside a child or when the parent stopped reading.
func (r ChildRequest) Report(p Progress) {
	if r.report != nil {
		r.report(p)
		return
	}
	r.progress.write(p)
}

type progressWriter struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (w *progressWriter) write(p Progress) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.enc != nil && w.enc.Encode(p) != nil {
		w.enc = nil // the parent is gone; stop trying
	}
}

// childReply is what the child writes to ResultFD: a result, or why not.
type childReply struct {
	Result    *results.ExperimentResult `json:"result,omitempty"`
	Error     string                    `json:"error,omitempty"`
	ErrorType string                    `json:"error_type,omitempty"`
}

// TypedError is an error that names its own error type for the manifest
// and StudyResult.failed (e.g. "engine_unavailable", "oom").
type TypedError interface {
	error
	ErrorType() string
}

// Exit codes of ChildMain.
const (
	ChildExitOK       = 0
	ChildExitRunError = 1
	ChildExitProtocol = 3
)

// ChildMain is the child side of the protocol, the body of the hidden
// subcommand the parent re-executes (`llem __run-child`): it reads the
// ChildRequest from stdin, calls run, writes the result (or the error) to
// ResultFD and returns the process exit code. SIGTERM and SIGINT cancel the
// context handed to run. Everything on stdout and stderr lands in the run's
// log, so the child's failure is also written to stderr here.
func ChildMain(ctx context.Context, run func(ctx context.Context, req ChildRequest) (*results.ExperimentResult, error)) int {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopWatch := watchSignals(cancel)
	defer stopWatch()

	resF := pipeFD(ResultFD, "llem-result")
	if resF == nil {
		fmt.Fprintln(os.Stderr, "llem child: file descriptor 3 is not the runner's result pipe: this command is started by the study runner, not by hand")
		return ChildExitProtocol
	}
	defer resF.Close()

	var req ChildRequest
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		return replyError(resF, fmt.Errorf("read run request from stdin: %w", err), "protocol_error", ChildExitProtocol)
	}
	if pf := pipeFD(ProgressFD, "llem-progress"); pf != nil {
		req.progress = &progressWriter{enc: json.NewEncoder(pf)}
		defer pf.Close()
	}

	res, err := callRun(ctx, run, req)
	if err != nil {
		typ := "experiment_error"
		var te TypedError
		if errors.As(err, &te) {
			typ = te.ErrorType()
		}
		if errors.Is(err, context.Canceled) {
			typ = "interrupted"
		}
		return replyError(resF, err, typ, ChildExitRunError)
	}
	if res == nil {
		return replyError(resF, errors.New("the run returned no result and no error"), "invalid_result", ChildExitRunError)
	}
	if err := json.NewEncoder(resF).Encode(childReply{Result: res}); err != nil {
		fmt.Fprintf(os.Stderr, "llem child: send result to the parent: %v\n", err)
		return ChildExitProtocol
	}
	return ChildExitOK
}

// callRun calls run, turning a panic into an error with its stack in the log.
func callRun(ctx context.Context, run func(context.Context, ChildRequest) (*results.ExperimentResult, error), req ChildRequest) (res *results.ExperimentResult, err error) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(os.Stderr, "llem child: panic: %v\n%s", p, debug.Stack())
			res, err = nil, panicError{fmt.Sprint(p)}
		}
	}()
	return run(ctx, req)
}

type panicError struct{ v string }

func (e panicError) Error() string     { return "panic: " + e.v }
func (e panicError) ErrorType() string { return "panic" }

func replyError(resF *os.File, err error, typ string, code int) int {
	fmt.Fprintf(os.Stderr, "llem child: %s: %v\n", typ, err)
	if werr := json.NewEncoder(resF).Encode(childReply{Error: err.Error(), ErrorType: typ}); werr != nil {
		fmt.Fprintf(os.Stderr, "llem child: send error to the parent: %v\n", werr)
	}
	return code
}

// pipeFD returns the inherited descriptor fd when it is a pipe, else nil
// (the runtime may use low descriptors for itself in a process started
// without the runner's pipes).
func pipeFD(fd uintptr, name string) *os.File {
	var st syscall.Stat_t
	if err := syscall.Fstat(int(fd), &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFIFO {
		return nil
	}
	return os.NewFile(fd, name)
}

// parentPoll is how often a child checks that its runner is still there,
// beside the kernel's parent-death signal; lifelineWait is how long a
// SIGTERM waits to learn whether it is the parent's death.
const (
	parentPoll   = 50 * time.Millisecond
	lifelineWait = 200 * time.Millisecond
)

// watchSignals turns SIGTERM and SIGINT into cancel, the graceful stop of
// a run, and makes the child end at once, with everything it started,
// when the runner that started it dies: a runner killed with SIGKILL
// cannot stop its children, and an orphaned run would keep measuring (and
// holding the device) under a resumed study.
//
// The runner's death shows as end-of-file on the lifeline pipe (LifelineFD)
// once the whole runner process is gone, and where there is no lifeline as
// a changed parent pid. The kernel's parent-death signal (SIGTERM,
// Pdeathsig) comes when the runner's forking thread dies, which may be
// before the rest of the runner: so a SIGTERM first waits briefly for the
// lifeline to close. On the runner's death the child SIGKILLs its own
// process group (it leads it: the runner starts it with Setpgid), so
// nothing it started lingers. The returned function stops watching and,
// should the runner have died meanwhile, still ends the group.
func watchSignals(cancel func()) func() {
	ppid := os.Getppid()
	leader := syscall.Getpgrp() == os.Getpid()
	lifeline := pipeFD(LifelineFD, "llem-lifeline")
	gone := func(wait time.Duration) bool {
		if lifeline == nil {
			return os.Getppid() != ppid
		}
		fds := []unix.PollFd{{Fd: int32(lifeline.Fd()), Events: unix.POLLIN}}
		for {
			n, err := unix.Poll(fds, int(wait/time.Millisecond))
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return err == nil && n > 0 && fds[0].Revents&(unix.POLLHUP|unix.POLLIN|unix.POLLERR) != 0
		}
	}
	die := func() {
		fmt.Fprintf(os.Stderr, "llem child: the runner (pid %d) is gone; stopping this run and everything it started\n", ppid)
		if leader {
			_ = syscall.Kill(0, syscall.SIGKILL)
		}
		os.Exit(ChildExitProtocol)
	}
	// SIGPIPE is watched too: when run.log is a pipe through the runner (to
	// redact secrets), the runner's death would otherwise end the child on
	// its next log line without ending its group.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGPIPE)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(parentPoll)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case s := <-sig:
				if gone(lifelineWait) {
					die()
				}
				if s != syscall.SIGPIPE {
					cancel()
				}
			case <-t.C:
				if gone(0) {
					die()
				}
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
		signal.Stop(sig)
		if gone(0) {
			die()
		}
	}
}
