package study

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/llenergymeasure/llem/event"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/gpucontrol"
	"github.com/llenergymeasure/llem/internal/redact"
	"github.com/llenergymeasure/llem/results"
)

// Errors Run returns beside a (partial) StudyResult.
var (
	// ErrInterrupted: the context was cancelled (Ctrl-C); the current run
	// was stopped and marked interrupted. The CLI exits 130.
	ErrInterrupted = errors.New("study interrupted")
	// ErrStopped: the study stopped before its end on purpose: fail-fast,
	// the circuit breaker, or the wall-clock limit.
	ErrStopped = errors.New("study stopped early")
	// ErrDesignMismatch: --resume on a directory whose manifest has another
	// study_design_hash than the study given.
	ErrDesignMismatch = errors.New("study design differs from the manifest's")
	// ErrFewerCycles: --resume with fewer cycles than the study already
	// has; a resume never drops planned runs. The CLI exits 2.
	ErrFewerCycles = errors.New("fewer cycles than the study has")
)

// Defaults of the runner.
const (
	DefaultExperimentTimeout = 600 * time.Second
	DefaultKillGrace         = 10 * time.Second
	DefaultResultsDir        = "results"
	logTailLines             = 20
	// DefaultOrphanWait is how long a resume waits for a run process
	// left by a killed runner (it stops itself when its parent dies) before
	// refusing the locked study.
	DefaultOrphanWait = 30 * time.Second
)

// Options configures Run. The zero value plus Executable runs a study into
// ./results with the study's own execution settings.
type Options struct {
	// ResultsDir is where the study directory is created (DefaultResultsDir
	// when empty).
	ResultsDir string
	// ResumeDir continues the study in that directory (STU-5).
	ResumeDir string
	// DisableWrites keeps everything out of ResultsDir (API-2): children
	// work in a temporary directory that is removed at the end.
	DisableWrites bool
	// NoGaps skips every gap.
	NoGaps bool
	// FailFast stops the study at the first failed run.
	FailFast bool
	// TimeoutOverride, when positive, replaces the execution block's
	// experiment_timeout_seconds.
	TimeoutOverride time.Duration
	// KillGrace is how long a stopped child gets between SIGTERM and
	// SIGKILL (DefaultKillGrace when zero).
	KillGrace time.Duration
	// InProcess, when set, measures each run in this process instead of a
	// child (a single experiment): the runner still writes the study's
	// layout, manifest and results, and applies the timeout through the
	// context. log is the run's run.log.
	InProcess func(ctx context.Context, req ChildRequest, log io.Writer) (*results.ExperimentResult, error)
	// BaseDir is handed to every run (ChildRequest.BaseDir).
	BaseDir string
	// Machine, the host's environment snapshot taken once for the study,
	// is handed to every run (ChildRequest.Machine); nil means each run
	// takes its own.
	Machine *results.EnvironmentSnapshot
	// Executable and Args are the command re-executed per run; it must
	// call ChildMain (the CLI passes os.Executable() and its hidden child
	// subcommand).
	Executable string
	Args       []string
	// Env is the children's environment; nil means the runner's own.
	Env []string
	// Observer receives progress events; nil discards them.
	Observer Observer
	// UserGapDefaults are the gaps used where the study leaves them unset.
	UserGapDefaults GapDefaults
	// TempReader gates temperature gaps and records each run's start and
	// end temperature; nil where the machine has no readable sensor.
	TempReader TempReader
	// Clock is the time source (the wall clock when nil).
	Clock Clock
	// OrphanWait is how long a resume waits for an orphaned run process of
	// a killed runner to release the study (DefaultOrphanWait when zero).
	OrphanWait time.Duration

	// GPU opens the NVML control the runner records and restores a run's
	// gpu: settings with; nil means gpucontrol.Open (tests pass go-nvml's
	// mock).
	GPU gpucontrol.Opener

	// launcher replaces the process launcher (in-package tests and benchmarks).
	launcher launcher
}

// Run executes a resolved study (STU-1..7): each run in its own child
// process, in the planned order with gaps, recording every state change in
// the manifest, and at the end writes study_result.json and results.parquet.
//
// A failed run does not make Run return an error: the StudyResult counts
// it (the CLI exits 1 when Summary.Failed > 0). Run returns a StudyResult
// together with ErrInterrupted or ErrStopped when the study ended early,
// and a nil StudyResult with an error when it could not run at all.
func Run(ctx context.Context, sc *config.StudyConfig, opts Options) (*results.StudyResult, error) {
	if sc == nil || len(sc.Experiments) == 0 {
		return nil, errors.New("run study: the study has no experiments to run")
	}
	if opts.ResumeDir != "" && opts.DisableWrites {
		return nil, errors.New("run study: resuming a study writes to its directory; it cannot be combined with disabled writes")
	}
	r := &runner{sc: sc, opts: opts, clock: opts.Clock, obs: opts.Observer, launch: opts.launcher}
	if r.clock == nil {
		r.clock = realClock{}
	}
	if r.launch == nil && opts.InProcess != nil {
		r.redact = redact.New(secretValues(sc, os.Environ())...)
		r.launch = inProcessLauncher{run: opts.InProcess}
	}
	if r.launch == nil {
		if opts.Executable == "" {
			return nil, errors.New("run study: Options.Executable is empty: the runner needs the binary to re-execute per run (the CLI passes os.Executable())")
		}
		env := opts.Env
		if env == nil {
			env = os.Environ()
		}
		grace := opts.KillGrace
		if grace <= 0 {
			grace = DefaultKillGrace
		}
		r.redact = redact.New(secretValues(sc, env)...)
		r.launch = processLauncher{exe: opts.Executable, args: opts.Args, env: env, killGrace: grace, redact: r.redact}
	} else {
		r.redact = redact.New(secretValues(sc, os.Environ())...)
	}
	r.timeout = RunTimeout(sc.Execution, opts.TimeoutOverride)
	r.configGap, r.cycleGap = Gaps(sc.Execution, opts.UserGapDefaults)
	return r.run(ctx)
}

// runner is one invocation of Run.
type runner struct {
	sc     *config.StudyConfig
	opts   Options
	clock  Clock
	obs    Observer
	launch launcher

	timeout             time.Duration
	configGap, cycleGap float64
	plan                []config.Run
	designHash          string
	dir                 string
	store               *manifestStore
	startedAt           time.Time
	warned              map[string]bool
	warnings            []results.Warning
	total, toRun        int
	lock                *Lock
	redact              *redact.Redactor
	// notes are what prepare repaired or moved aside, reported at the start.
	notes []string
	// gpuStuck is why a run's GPU settings could not be put back; the
	// study stops rather than measure the next run at them.
	gpuStuck error
}

func (r *runner) run(ctx context.Context) (*results.StudyResult, error) {
	r.startedAt = r.clock.Now()
	r.plan = config.Plan(r.sc)
	r.designHash = config.StudyDesignHash(r.sc)
	r.total = len(r.plan)

	m, err := r.prepare()
	defer r.lock.Unlock()
	if err != nil {
		return nil, err
	}
	if r.opts.DisableWrites {
		defer os.RemoveAll(r.dir)
	}
	r.store, err = createManifestStore(r.dir, m, func() time.Time { return r.clock.Now() })
	if err != nil {
		return nil, fmt.Errorf("run study: %w", err)
	}
	var todo []config.Run
	for _, run := range r.plan {
		if m.Runs[run.Index].State != results.StateCompleted {
			todo = append(todo, run)
		}
	}
	r.toRun = len(todo)
	for _, n := range r.notes {
		r.warnings = append(r.warnings, results.Warning{Code: "resume_repair", Message: n})
		r.emit(Event{Kind: event.Warning, Message: n})
	}
	r.emit(Event{Kind: event.StudyStart, StudyDir: r.dir, ToRun: r.toRun})

	stopReason, loopErr := r.loop(ctx, todo)
	if cerr := r.store.close(); cerr != nil && loopErr == nil {
		loopErr = fmt.Errorf("run study: %w", cerr)
	}
	res, ferr := r.finish(stopReason)
	if ferr != nil && loopErr == nil {
		loopErr = ferr
	}
	r.emit(Event{Kind: event.StudyEnd, StudyDir: r.dir, Completed: res.Summary.Completed, Failed: res.Summary.Failed, Message: stopReason})
	return res, loopErr
}

// loop executes the runs, returning why it stopped early ("" when it did
// not) and the error Run returns.
func (r *runner) loop(ctx context.Context, todo []config.Run) (string, error) {
	ex := r.sc.Execution
	var (
		prev        *config.Run
		prevTemp    *float64
		consecutive int
		halfOpen    bool
		spent       time.Duration
	)
	for pos, run := range todo {
		if h := ex.WallClockTimeoutHours; h > 0 && r.clock.Now().Sub(r.startedAt) >= time.Duration(h*float64(time.Hour)) {
			reason := fmt.Sprintf("wall-clock limit of %g h reached with %d runs not done", h, len(todo)-pos)
			return reason, fmt.Errorf("%w: %s", ErrStopped, reason)
		}
		if prev != nil {
			if err := r.gap(ctx, *prev, run, prevTemp); err != nil {
				return "interrupted", r.interrupted()
			}
		}
		if n := ex.MaxConsecutiveFailures; n > 1 && consecutive >= n && !halfOpen {
			cool := time.Duration(ex.CircuitCooldownSeconds * float64(time.Second))
			r.emit(Event{Kind: event.Circuit, Message: fmt.Sprintf("%d runs failed in a row: cooling down %s, then one more try", consecutive, cool)})
			if err := r.countdown(ctx, "cooldown", GapModeFixed, cool); err != nil {
				return "interrupted", r.interrupted()
			}
			halfOpen = true
		}
		var eta time.Duration
		if pos > 0 {
			eta = spent / time.Duration(pos) * time.Duration(len(todo)-pos)
		}
		began := r.clock.Now()
		runCtx, cancel := r.wallClockContext(ctx)
		mr, err := r.execute(runCtx, pos, run, eta)
		cancel()
		spent += r.clock.Now().Sub(began)
		if err != nil {
			return "manifest write failed", err
		}
		if r.gpuStuck != nil {
			reason := r.gpuStuck.Error()
			return reason, fmt.Errorf("%w: %s", ErrStopped, reason)
		}
		switch {
		case mr.State == results.StateInterrupted && ctx.Err() == nil:
			reason := fmt.Sprintf("wall-clock limit of %g h reached during run %d", ex.WallClockTimeoutHours, run.Index)
			return reason, fmt.Errorf("%w: %s", ErrStopped, reason)
		case mr.State == results.StateInterrupted:
			return "interrupted", r.interrupted()
		case mr.State == results.StateFailed:
			consecutive++
			n := ex.MaxConsecutiveFailures
			switch {
			case r.opts.FailFast || n == 1:
				reason := fmt.Sprintf("fail-fast: run %d (cycle %d) failed: %s", run.Index, run.Cycle, mr.Error)
				return reason, fmt.Errorf("%w: %s", ErrStopped, reason)
			case halfOpen:
				reason := fmt.Sprintf("circuit breaker: %d runs failed in a row and the retry after the cool-down failed too", consecutive)
				return reason, fmt.Errorf("%w: %s", ErrStopped, reason)
			}
		default:
			consecutive, halfOpen = 0, false
		}
		prev, prevTemp = &todo[pos], mr.StartTempC
	}
	return "", nil
}

// errWallClock is the cause of a run stopped by wall_clock_timeout_hours.
var errWallClock = errors.New("the study's wall-clock limit (wall_clock_timeout_hours) was reached")

// wallClockContext bounds a run by what is left of the study's wall-clock
// limit, if it has one.
func (r *runner) wallClockContext(ctx context.Context) (context.Context, context.CancelFunc) {
	h := r.sc.Execution.WallClockTimeoutHours
	if h <= 0 {
		return ctx, func() {}
	}
	left := time.Duration(h*float64(time.Hour)) - r.clock.Now().Sub(r.startedAt)
	return context.WithTimeoutCause(ctx, left, errWallClock)
}

func (r *runner) interrupted() error {
	return fmt.Errorf("%w: continue it with --resume %s", ErrInterrupted, r.dir)
}

// execute runs one run in a child and records it in the manifest.
func (r *runner) execute(ctx context.Context, pos int, run config.Run, eta time.Duration) (results.ManifestRun, error) {
	cfg := r.sc.Experiments[run.Experiment]
	runDirName := results.RunDirName(run.Index, run.Cycle, run.MeasurementConfigHash)
	runDir := filepath.Join(r.dir, runDirName)
	logPath := filepath.Join(runDir, results.RunLogFile)

	start := r.clock.Now().UTC()
	mr := results.ManifestRun{
		Index: run.Index, Cycle: run.Cycle, Experiment: run.Experiment,
		MeasurementConfigHash: run.MeasurementConfigHash,
		State:                 results.StateRunning, StartedAt: &start,
		StartTempC: r.readTemp(ctx),
	}
	// The GPU settings the run will change are recorded before it starts,
	// so that they are put back however it ends, even by a resume after
	// this process is killed.
	gpuCtl, gpuErr := r.recordGPU(&mr, cfg)
	if gpuCtl != nil {
		defer gpuCtl.Close()
	}
	if err := r.store.update(mr); err != nil {
		return mr, fmt.Errorf("run study: %w", err)
	}
	base := Event{RunIndex: run.Index, Cycle: run.Cycle, Position: pos + 1, Config: &cfg, RunDir: runDir}
	ev := base
	ev.Kind, ev.ETA = event.RunStart, eta
	r.emit(ev)

	var o outcome
	// A run that did not complete before starts from a clean directory
	// (results moved aside as invalid stay).
	if gpuErr != nil {
		o = outcome{state: results.StateFailed, errType: ErrTypeGPUSettings, err: gpuErr.Error()}
	} else if err := clearRunDir(runDir); err != nil {
		o = outcome{state: results.StateFailed, errType: ErrTypeSpawn, err: fmt.Sprintf("clear run directory: %v", err)}
	} else {
		o = r.launch.launch(ctx, job{
			req: ChildRequest{
				Config: cfg, MeasurementConfigHash: run.MeasurementConfigHash,
				StudyName: r.sc.Name, RunIndex: run.Index, Cycle: run.Cycle, RunDir: runDir, BaseDir: r.opts.BaseDir,
				Machine: r.opts.Machine,
			},
			logPath: logPath,
			timeout: r.timeout,
			lock:    r.lock.File(),
			onProgress: func(p Progress) {
				ev := base
				ev.Kind, ev.Progress = event.RunPhase, &p
				r.emit(ev)
			},
		})
	}
	if gpuCtl != nil {
		if err := gpucontrol.Restore(gpuCtl, mr.GPUOriginal); err != nil {
			r.gpuStuck = fmt.Errorf("the GPU settings run %d changed could not be put back (%v): the study stops rather than measure at them; once the card can be reset, --resume %s puts them back first", run.Index, err, r.dir)
			r.warnings = append(r.warnings, results.Warning{Code: "gpu_not_restored", Message: r.gpuStuck.Error()})
			r.emit(Event{Kind: event.Warning, Message: r.gpuStuck.Error()})
		} else {
			mr.GPURestorePending = false
		}
	}
	if o.state == results.StateCompleted {
		o = r.keepResult(o, run, runDir)
	}
	if o.state == results.StateCompleted {
		mr.ResultPath = filepath.ToSlash(filepath.Join(runDirName, results.ResultFile))
		mr.ResultSHA256 = o.sha256
	}
	end := r.clock.Now().UTC()
	mr.EndedAt, mr.State, mr.ErrorType, mr.Error = &end, o.state, o.errType, r.redact.String(o.err)
	mr.EndTempC = r.readTemp(ctx)
	if o.state != results.StateCompleted {
		mr.LogTail = r.redact.String(logTail(logPath, logTailLines))
	}
	if err := r.store.update(mr); err != nil {
		return mr, fmt.Errorf("run study: %w", err)
	}
	ev = base
	ev.Kind, ev.State, ev.ErrorType, ev.Error, ev.LogTail = event.RunEnd, mr.State, mr.ErrorType, mr.Error, mr.LogTail
	r.emit(ev)
	return mr, nil
}

func (r *runner) gpuOpener() gpucontrol.Opener {
	if r.opts.GPU != nil {
		return r.opts.GPU
	}
	return gpucontrol.Open
}

// recordGPU reads, for a run with gpu: settings, what they are now into
// mr (GPUOriginal, with GPURestorePending) and returns the open control
// to restore them with after the run; nil without gpu: settings.
func (r *runner) recordGPU(mr *results.ManifestRun, cfg config.ExperimentConfig) (gpucontrol.Controller, error) {
	s := gpucontrol.FromConfig(cfg.GPU)
	if s.IsZero() {
		return nil, nil
	}
	ctl, err := r.gpuOpener()(nil)
	if err != nil {
		return nil, fmt.Errorf("gpu settings: %w", err)
	}
	orig, err := gpucontrol.Originals(ctl, s)
	if err != nil {
		_ = ctl.Close()
		return nil, fmt.Errorf("gpu settings: %w", err)
	}
	mr.GPUOriginal, mr.GPURestorePending = orig, true
	return ctl, nil
}

// restorePendingGPU puts back the GPU settings of the runs in m whose
// restoration the manifest does not record (the runner was killed during
// them), before a resume runs anything.
func (r *runner) restorePendingGPU(m *results.StudyManifest) error {
	var ctl gpucontrol.Controller
	for i := range m.Runs {
		mr := &m.Runs[i]
		if !mr.GPURestorePending {
			continue
		}
		if ctl == nil {
			c, err := r.gpuOpener()(nil)
			if err != nil {
				return fmt.Errorf("resume %s: run %d changed GPU settings that were not put back, and NVML cannot be opened to do so: %w", r.dir, mr.Index, err)
			}
			ctl = c
			defer ctl.Close()
		}
		if err := gpucontrol.Restore(ctl, mr.GPUOriginal); err != nil {
			return fmt.Errorf("resume %s: put back the GPU settings run %d changed: %w", r.dir, mr.Index, err)
		}
		mr.GPURestorePending = false
		msg := fmt.Sprintf("run %d had changed the GPU settings and was not seen to the end: they were put back before resuming", mr.Index)
		r.notes = append(r.notes, msg)
	}
	return nil
}

// keepResult checks the child's result against the run and writes it as
// the run's result.json (the parent writes it, so a dying child never
// leaves a half-written result).
func (r *runner) keepResult(o outcome, run config.Run, runDir string) outcome {
	res := o.result
	if res.MeasurementConfigHash == "" {
		res.MeasurementConfigHash = run.MeasurementConfigHash
	}
	if res.MeasurementConfigHash != run.MeasurementConfigHash {
		return outcome{state: results.StateFailed, errType: ErrTypeInvalidResult,
			err: fmt.Sprintf("the child measured configuration %s, not the run's %s", res.MeasurementConfigHash, run.MeasurementConfigHash)}
	}
	res.Cycle = run.Cycle
	if res.SchemaVersion == "" {
		res.SchemaVersion = results.SchemaVersion
	}
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return outcome{state: results.StateFailed, errType: "write_failed", err: fmt.Sprintf("encode result.json: %v", err)}
	}
	data = append(data, '\n')
	if err := results.WriteFileAtomic(filepath.Join(runDir, results.ResultFile), data, 0o644); err != nil {
		return outcome{state: results.StateFailed, errType: "write_failed", err: err.Error()}
	}
	sum := sha256.Sum256(data)
	o.sha256 = hex.EncodeToString(sum[:])
	return o
}

// prepare creates (or, on resume, reopens) the study directory and
// returns the manifest to start from.
func (r *runner) prepare() (*results.StudyManifest, error) {
	now := r.clock.Now().UTC()
	m := &results.StudyManifest{
		SchemaVersion: results.SchemaVersion, StudyName: r.sc.Name, StudyDesignHash: r.designHash,
		StudyFile: r.sc.Path, CreatedAt: now, UpdatedAt: now,
		Runs: make([]results.ManifestRun, len(r.plan)),
	}
	for i, run := range r.plan {
		m.Runs[i] = results.ManifestRun{Index: run.Index, Cycle: run.Cycle, Experiment: run.Experiment,
			MeasurementConfigHash: run.MeasurementConfigHash, State: results.StatePending}
	}
	switch {
	case r.opts.ResumeDir != "":
		r.dir = r.opts.ResumeDir
		if err := r.resume(m); err != nil {
			return nil, err
		}
		return m, nil
	case r.opts.DisableWrites:
		dir, err := os.MkdirTemp("", "llem-study-*")
		if err != nil {
			return nil, fmt.Errorf("run study: temporary directory: %w", err)
		}
		r.dir = dir
	default:
		root := r.opts.ResultsDir
		if root == "" {
			root = DefaultResultsDir
		}
		if err := os.MkdirAll(root, 0o755); err != nil {
			return nil, fmt.Errorf("run study: create results directory: %w", err)
		}
		name := results.StudyDirName(r.sc.Name, now)
		dir := filepath.Join(root, name)
		for i := 2; ; i++ {
			err := os.Mkdir(dir, 0o755)
			if err == nil {
				break
			}
			if !errors.Is(err, os.ErrExist) {
				return nil, fmt.Errorf("run study: create study directory: %w", err)
			}
			dir = filepath.Join(root, name+"-"+strconv.Itoa(i))
		}
		r.dir = dir
		lock, err := LockDir(dir, 0)
		if err != nil {
			return nil, fmt.Errorf("run study: %w", err)
		}
		r.lock = lock
	}
	if err := r.writeStudyFiles(); err != nil {
		return nil, err
	}
	return m, nil
}

// writeStudyFiles records the resolved study and a copy of its file.
func (r *runner) writeStudyFiles() error {
	if err := results.WriteJSONAtomic(filepath.Join(r.dir, results.StudyConfigFile), r.sc); err != nil {
		return fmt.Errorf("run study: %w", err)
	}
	if r.sc.Path == "" {
		return nil
	}
	data, err := os.ReadFile(r.sc.Path)
	if err != nil {
		return fmt.Errorf("run study: copy the study file: %w", err)
	}
	if err := results.WriteFileAtomic(filepath.Join(r.dir, results.StudyYAMLFile), data, 0o644); err != nil {
		return fmt.Errorf("run study: %w", err)
	}
	return nil
}

func runKey(hash string, cycle int) string { return hash + "#" + strconv.Itoa(cycle) }

func (r *runner) emit(e Event) {
	if r.obs == nil {
		return
	}
	e.Time = r.clock.Now()
	e.Total = r.total
	e.Elapsed = e.Time.Sub(r.startedAt)
	if e.ToRun == 0 {
		e.ToRun = r.toRun
	}
	r.obs.Observe(e)
}

// warnOnce reports a warning through the observer and the StudyResult, once.
func (r *runner) warnOnce(msg string) {
	if r.warned == nil {
		r.warned = make(map[string]bool)
	}
	if len(r.warned) > 0 {
		return // one fallback notice per study is enough
	}
	r.warned[msg] = true
	r.warnings = append(r.warnings, results.Warning{Code: "gap_fallback", Message: msg})
	r.emit(Event{Kind: event.Warning, Message: msg})
}
