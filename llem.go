// Package llem is the library API of llem, a tool that measures the energy,
// time and tokens of LLM inference across deployment choices.
//
//	sc, err := config.Load("study.yaml")
//	res, err := llem.Run(ctx, sc, llem.Options{})
//
// Run is the one place a run is wired, for the command line and for
// library users alike: the pre-flight (settings, data sets, Python
// environments), the study folder's lock, the output layout, the child
// request with the study file's folder, the temperature reader that gates
// temperature gaps, the timeouts and the progress events.
//
// RunExperiment measures one experiment in this process and writes nothing.
// Run executes a study, each run in a child process of the llem binary (or
// in this process with Options.InProcess), and writes the study's manifest
// and results under Options.ResultsDir — the one documented side effect,
// which Options.DisableWrites turns off (API-2).
package llem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/event"
	"github.com/llenergymeasure/llem/internal/buildinfo"
	"github.com/llenergymeasure/llem/internal/dataset"
	"github.com/llenergymeasure/llem/internal/energy"
	"github.com/llenergymeasure/llem/internal/engine"
	"github.com/llenergymeasure/llem/internal/engine/engines"
	"github.com/llenergymeasure/llem/internal/envsnap"
	"github.com/llenergymeasure/llem/internal/harness"
	"github.com/llenergymeasure/llem/internal/study"
	"github.com/llenergymeasure/llem/results"
)

// ChildCommand is the hidden subcommand of the llem binary that Run
// re-executes per run (STU-1); its body is ServeChild.
const ChildCommand = "__run-child"

// Options configures Run and RunExperiment. The zero value is usable: the
// user config in effect (LoadUserConfig with the process environment)
// supplies gaps, sampling interval and carbon context.
type Options struct {
	// User is the machine-local configuration; nil means
	// config.LoadUserConfig(Getenv).
	User *config.UserConfig
	// Getenv reads the environment (user config overrides, Hub access);
	// nil means os.Getenv.
	Getenv func(string) string
	// ResultsDir overrides User.ResultsDir for Run.
	ResultsDir string
	// ResumeDir continues the interrupted study in that directory.
	ResumeDir string
	// DisableWrites keeps Run from writing anything under ResultsDir.
	DisableWrites bool
	// LlemBinary is the llem executable Run re-executes per run; empty
	// means `llem` on PATH.
	LlemBinary string
	// InProcess measures each run in this process instead of a child of
	// LlemBinary (a single experiment); the layout is the same.
	InProcess bool
	// BaseDir is the folder relative paths in the study (a dataset file)
	// resolve against; empty means the study file's folder, else ".".
	BaseDir string
	// NoGaps skips thermal gaps between runs (Run).
	NoGaps bool
	// FailFast stops the study at the first failed run.
	FailFast bool
	// Timeout, when positive, replaces the execution block's per-run
	// experiment_timeout_seconds.
	Timeout time.Duration
	// Quick marks the short demonstration protocol, recorded in the result.
	Quick bool
	// SkipCheck skips the pre-flight (Check) a caller already ran.
	SkipCheck bool
	// OnEvent, when set, receives progress events, one call at a time.
	OnEvent func(event.Event)
}

func (o Options) getenv() func(string) string {
	if o.Getenv != nil {
		return o.Getenv
	}
	return os.Getenv
}

func (o Options) user() (config.UserConfig, error) {
	if o.User != nil {
		return *o.User, nil
	}
	return config.LoadUserConfig(o.getenv())
}

// baseDir is the folder relative paths in sc resolve against, absolute.
func (o Options) baseDir(sc *config.StudyConfig) string {
	d := o.BaseDir
	if d == "" {
		d = StudyBaseDir(sc)
	}
	if a, err := filepath.Abs(d); err == nil {
		return a
	}
	return d
}

// StudyBaseDir is the folder of the study's file ("." without one), the
// base of its relative paths.
func StudyBaseDir(sc *config.StudyConfig) string {
	if sc == nil || sc.Path == "" {
		return "."
	}
	return filepath.Dir(sc.Path)
}

// harnessOptions is the one wiring of a measurement: engines, sensors,
// data sets and carbon context from the user config; log receives an
// engine worker's own output.
func harnessOptions(user config.UserConfig, getenv func(string) string, baseDir string, log io.Writer) harness.Options {
	bi := buildinfo.Get()
	newEngine := func(c config.ExperimentConfig) (engine.Engine, error) { return engines.New(c, user, log) }
	opts := harness.UserOptions(user, newEngine, getenv, bi.Version, bi.Commit)
	opts.Dataset.BaseDir = baseDir
	return opts
}

// measure runs one request's experiment in this process.
func measure(ctx context.Context, user config.UserConfig, getenv func(string) string, req study.ChildRequest, log io.Writer, quick bool) (*results.ExperimentResult, error) {
	opts := harnessOptions(user, getenv, req.BaseDir, log)
	opts.OutDir = req.RunDir
	opts.Machine = req.Machine
	opts.Run = results.TimeseriesIdentity{RunIndex: req.RunIndex, MeasurementConfigHash: req.MeasurementConfigHash, StudyName: req.StudyName, Cycle: req.Cycle}
	opts.Quick = quick
	opts.Log = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts.Observer = func(e harness.Event) { req.Report(e) }
	return harness.Run(ctx, req.Config, opts)
}

// RunExperiment measures one experiment in this process and returns its
// result. It writes no files; progress goes to Options.OnEvent as
// event.RunPhase events.
func RunExperiment(ctx context.Context, cfg config.ExperimentConfig, opts Options) (*results.ExperimentResult, error) {
	user, err := opts.user()
	if err != nil {
		return nil, err
	}
	getenv := opts.getenv()
	ho := harnessOptions(user, getenv, opts.baseDir(nil), io.Discard)
	ho.Quick = opts.Quick
	if opts.OnEvent != nil {
		ho.Observer = func(e harness.Event) {
			p := e
			opts.OnEvent(event.Event{Kind: event.RunPhase, Time: time.Now(), Total: 1, Progress: &p, Elapsed: e.Elapsed})
		}
	}
	return harness.Run(ctx, cfg, ho)
}

// Run executes a study: the pre-flight, then every planned run in its own
// child process (or in this process with Options.InProcess), in order,
// with gaps, manifest and resume support, and returns the study's result.
// Failed runs are counted in the result, not returned as errors; Run
// returns a result together with ErrInterrupted when the study stopped
// early, and no result with an error when it could not run at all.
func Run(ctx context.Context, sc *config.StudyConfig, opts Options) (*results.StudyResult, error) {
	if sc == nil || len(sc.Experiments) == 0 {
		return nil, errors.New("run study: the study has no experiments to run")
	}
	user, err := opts.user()
	if err != nil {
		return nil, err
	}
	getenv := opts.getenv()
	if !opts.SkipCheck {
		if _, err := Check(ctx, sc, CheckOptions{User: &user, Getenv: getenv, BaseDir: opts.BaseDir}); err != nil {
			return nil, err
		}
	}
	dir := opts.ResultsDir
	if dir == "" {
		dir = user.ResultsDir
	}
	so := study.Options{
		ResultsDir:      dir,
		ResumeDir:       opts.ResumeDir,
		DisableWrites:   opts.DisableWrites,
		NoGaps:          opts.NoGaps,
		FailFast:        opts.FailFast,
		TimeoutOverride: opts.Timeout,
		BaseDir:         opts.baseDir(sc),
		UserGapDefaults: gapDefaults(user),
	}
	if opts.OnEvent != nil {
		so.Observer = study.ObserverFunc(opts.OnEvent)
	}
	if opts.InProcess {
		so.InProcess = func(ctx context.Context, req study.ChildRequest, log io.Writer) (*results.ExperimentResult, error) {
			return measure(ctx, user, getenv, req, log, opts.Quick)
		}
	} else {
		bin := opts.LlemBinary
		if bin == "" {
			bin, err = exec.LookPath("llem")
			if err != nil {
				return nil, errors.New("llem.Run re-executes the llem binary per run and found none on PATH: install it (go install github.com/llenergymeasure/llem/cmd/llem@latest) or set Options.LlemBinary")
			}
		}
		so.Executable, so.Args = bin, []string{ChildCommand}
	}
	// The host's facts are taken once here, not in every run's process:
	// each run adds what may change between runs (GPU state, versions,
	// environment variables).
	bi := buildinfo.Get()
	machine := envsnap.Take(ctx, envsnap.Options{LlemVersion: bi.Version, LlemCommit: bi.Commit})
	so.Machine = &machine
	// Temperatures gate temperature gaps and are recorded around every run;
	// without a sensor the runner falls back to fixed gaps and says so.
	if tr, terr := energy.OpenThermal("", false); terr == nil {
		defer tr.Close()
		so.TempReader = tr
	}
	res, err := study.Run(ctx, sc, so)
	if err != nil && res == nil {
		return nil, fmt.Errorf("run study %s: %w", sc.Name, err)
	}
	return res, err
}

func gapDefaults(user config.UserConfig) study.GapDefaults {
	return study.GapDefaults{ConfigGapSeconds: user.ConfigGapSeconds, CycleGapSeconds: user.CycleGapSeconds}
}

// ServeChild is the body of the hidden child command (ChildCommand): it
// reads the run request on stdin, measures it and answers the parent on
// the protocol's pipes, returning the process exit code. Its stderr is
// the run's log.
func ServeChild(ctx context.Context, getenv func(string) string, stderr io.Writer) int {
	if getenv == nil {
		getenv = os.Getenv
	}
	user, err := config.LoadUserConfig(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "llem child: %v\n", err)
		return study.ChildExitRunError
	}
	return study.ChildMain(ctx, func(ctx context.Context, req study.ChildRequest) (*results.ExperimentResult, error) {
		return measure(ctx, user, getenv, req, stderr, false)
	})
}

// Errors a caller maps to its own outcome (the CLI's exit codes).
var (
	// ErrInterrupted: the study stopped on a signal; resume it.
	ErrInterrupted = study.ErrInterrupted
	// ErrLocked: another llem holds the study folder.
	ErrLocked = study.ErrLocked
	// ErrFewerCycles: a resume asked for fewer cycles than the study has.
	ErrFewerCycles = study.ErrFewerCycles
	// ErrDatasetUnavailable: a data set cannot be had here.
	ErrDatasetUnavailable = dataset.ErrDatasetUnavailable
)

// LockHolder says who holds a study folder's lock.
type LockHolder struct {
	PID   int       `json:"pid"`
	Host  string    `json:"host"`
	Since time.Time `json:"since"`
}

// LockedBy reports whether a writer holds the study folder dir, and who.
// It takes no lock.
func LockedBy(dir string) (LockHolder, bool) {
	h, held := study.LockedBy(dir)
	return LockHolder{PID: h.PID, Host: h.Host, Since: h.Since}, held
}

// MinDuration is a lower bound of a study's duration: the fixed waits the
// protocol imposes (baselines, thermal floors, gaps unless noGaps), for
// the plan config.Plan(sc).
func MinDuration(sc *config.StudyConfig, user config.UserConfig, noGaps bool) time.Duration {
	plan := config.Plan(sc)
	var total float64
	for i, r := range plan {
		cfg := sc.Experiments[r.Experiment]
		if cfg.Baseline.Enabled {
			total += cfg.Baseline.DurationSeconds
		}
		if cfg.Warmup.Enabled {
			total += cfg.Warmup.ThermalFloorSeconds
		}
		if i > 0 && !noGaps {
			_, gap := study.GapBefore(sc.Execution, gapDefaults(user), plan[i-1], r)
			total += gap
		}
	}
	return time.Duration(total * float64(time.Second))
}
