package study

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/results"
)

// Detached studies (SPEC STU-8): the runs execute elsewhere, as the tasks of
// a scheduler's job array, each writing only into its own run directory.
// Prepare creates the study directory exactly as Run does, RunTask is one
// task's body, and Gather rebuilds the manifest and writes the StudyResult
// from the run directories. No task writes a shared file, so tasks running
// at once on several nodes never race on the manifest.

// TaskStateFile is the state a detached task leaves in its run directory:
// "running" when it starts, then "completed" or "failed".
const TaskStateFile = "task_state.json"

// TaskState is the content of TaskStateFile.
type TaskState struct {
	State     results.RunState `json:"state"`
	StartedAt *time.Time       `json:"started_at,omitempty"`
	EndedAt   *time.Time       `json:"ended_at,omitempty"`
	ErrorType string           `json:"error_type,omitempty"`
	Error     string           `json:"error,omitempty"`
	// Where is the task's host and scheduler id, for people reading it.
	Where string `json:"where,omitempty"`
}

// RunTimeout is the one computation of a run's timeout: override when
// positive (--timeout), else the execution block's (ExperimentTimeout).
// The runner, a scheduler's task and a single run use it.
func RunTimeout(ex config.Execution, override time.Duration) time.Duration {
	if override > 0 {
		return override
	}
	return ExperimentTimeout(ex)
}

// ExperimentTimeout is the per-run timeout of an execution block
// (DefaultExperimentTimeout when unset).
func ExperimentTimeout(ex config.Execution) time.Duration {
	if s := ex.ExperimentTimeoutSeconds; s > 0 {
		return time.Duration(s * float64(time.Second))
	}
	return DefaultExperimentTimeout
}

// Prepare creates a new study directory under resultsDir
// (DefaultResultsDir when empty) exactly as Run does: study.json, the copy
// of the study file, and a manifest with every run pending. It returns the
// directory and the plan.
func Prepare(sc *config.StudyConfig, resultsDir string) (string, []config.Run, error) {
	if sc == nil || len(sc.Experiments) == 0 {
		return "", nil, errors.New("prepare study: the study has no experiments to run")
	}
	for i, cfg := range sc.Experiments {
		if f := cfg.GPU.SetFields(); len(f) > 0 {
			return "", nil, fmt.Errorf("prepare study: configuration [%d] sets %s, which detached tasks do not support yet: a task the scheduler kills would leave the card at them, with no parent to put them back; run the study with llem run on the GPU machine", i, strings.Join(f, ", "))
		}
	}
	r := &runner{sc: sc, opts: Options{ResultsDir: resultsDir}, clock: realClock{}}
	r.plan = config.Plan(sc)
	r.designHash = config.StudyDesignHash(sc)
	m, err := r.prepare()
	defer r.lock.Unlock()
	if err != nil {
		return "", nil, err
	}
	store, err := createManifestStore(r.dir, m, time.Now)
	if err != nil {
		return "", nil, fmt.Errorf("prepare study: %w", err)
	}
	if err := store.close(); err != nil {
		return "", nil, fmt.Errorf("prepare study: %w", err)
	}
	return r.dir, r.plan, nil
}

// TaskOptions configures RunTask.
type TaskOptions struct {
	// NoGaps skips the gap a task waits before its run.
	NoGaps bool
	// UserGapDefaults are the gaps used where the study leaves them unset.
	UserGapDefaults GapDefaults
	// Where names the host and scheduler task, recorded in TaskStateFile.
	Where string
	// BaseDir is handed to the run (ChildRequest.BaseDir).
	BaseDir string
}

// RunTask is the body of one detached task: it measures run index of the
// study in dir with measure, in this process, and writes result.json
// (atomically) into the run's directory, where measure writes
// timeseries.parquet and gets run.log as log; TaskStateFile there records
// the outcome. Before its
// run the task waits the gap the local runner would have waited after the
// previous run of the plan (tasks follow each other when the array runs
// one at a time). It returns an error when the run failed or could not run.
func RunTask(ctx context.Context, dir string, index int, measure func(ctx context.Context, req ChildRequest, log io.Writer) (*results.ExperimentResult, error), opts TaskOptions) error {
	sc, err := results.ReadStudyConfig(dir)
	if err != nil {
		return err
	}
	plan := config.Plan(sc)
	if index < 0 || index >= len(plan) {
		return fmt.Errorf("task index %d is out of range: the study in %s has %d runs (indices 0 to %d); was the array submitted for another study?", index, dir, len(plan), len(plan)-1)
	}
	run := plan[index]
	runDir := filepath.Join(dir, results.RunDirName(run.Index, run.Cycle, run.MeasurementConfigHash))
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return fmt.Errorf("create run directory: %w", err)
	}
	// One task at a time per run: a requeued task that overlaps the one it
	// replaces is refused.
	lock, err := LockDir(runDir, 0)
	if err != nil {
		return fmt.Errorf("task %d: %w", index, err)
	}
	defer lock.Unlock()
	// A run that did not complete before (a requeued task) starts clean.
	if err := clearRunDir(runDir); err != nil {
		return fmt.Errorf("clear run directory: %w", err)
	}
	logw, err := os.Create(filepath.Join(runDir, results.RunLogFile))
	if err != nil {
		return fmt.Errorf("create run log: %w", err)
	}
	defer logw.Close()
	start := time.Now().UTC()
	state := TaskState{State: results.StateRunning, StartedAt: &start, Where: opts.Where}
	if err := results.WriteJSONAtomic(filepath.Join(runDir, TaskStateFile), state); err != nil {
		return err
	}
	fail := func(typ string, err error) error {
		end := time.Now().UTC()
		state.State, state.EndedAt, state.ErrorType, state.Error = results.StateFailed, &end, typ, err.Error()
		fmt.Fprintf(logw, "llem task: run %d failed: %s: %v\n", run.Index, typ, err)
		if werr := results.WriteJSONAtomic(filepath.Join(runDir, TaskStateFile), state); werr != nil {
			return errors.Join(err, werr)
		}
		return fmt.Errorf("run %d (cycle %d): %w", run.Index, run.Cycle, err)
	}

	if index > 0 && !opts.NoGaps {
		kind, gap := GapBefore(sc.Execution, opts.UserGapDefaults, plan[index-1], run)
		if gap > 0 {
			fmt.Fprintf(logw, "llem task: waiting the %s gap of %gs before run %d\n", kind, gap, run.Index)
			t := time.NewTimer(time.Duration(gap * float64(time.Second)))
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return fail(ErrTypeInterrupted, context.Cause(ctx))
			}
		}
	}

	timeout := RunTimeout(sc.Execution, 0)
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	fmt.Fprintf(logw, "llem task: run %d, cycle %d, configuration %s\n", run.Index, run.Cycle, run.MeasurementConfigHash)
	measureLogged := func(ctx context.Context, req ChildRequest) (*results.ExperimentResult, error) {
		return measure(ctx, req, logw)
	}
	res, err := callRun(runCtx, measureLogged, ChildRequest{
		Config: sc.Experiments[run.Experiment], MeasurementConfigHash: run.MeasurementConfigHash,
		StudyName: sc.Name, RunIndex: run.Index, Cycle: run.Cycle, RunDir: runDir, BaseDir: opts.BaseDir,
	})
	switch {
	case err != nil && errors.Is(runCtx.Err(), context.DeadlineExceeded) && ctx.Err() == nil:
		return fail(ErrTypeTimeout, fmt.Errorf("exceeded the experiment timeout of %s: %w", timeout, err))
	case err != nil && ctx.Err() != nil:
		return fail(ErrTypeInterrupted, err)
	case err != nil:
		typ := "experiment_error"
		var te TypedError
		if errors.As(err, &te) {
			typ = te.ErrorType()
		}
		return fail(typ, err)
	case res == nil:
		return fail(ErrTypeInvalidResult, errors.New("the run returned no result and no error"))
	}
	r := &runner{}
	if o := r.keepResult(outcome{result: res, state: results.StateCompleted}, run, runDir); o.state != results.StateCompleted {
		return fail(o.errType, errors.New(o.err))
	}
	end := time.Now().UTC()
	state.State, state.EndedAt = results.StateCompleted, &end
	fmt.Fprintf(logw, "llem task: run %d completed\n", run.Index)
	return results.WriteJSONAtomic(filepath.Join(runDir, TaskStateFile), state)
}

// GatherOptions configures Gather.
type GatherOptions struct {
	// Runner names where the runs executed, for StudyResult.Runner.
	Runner string
	// Active says the tasks may still be running: a run with no outcome
	// yet is then pending (or running), not failed.
	Active bool
	// NoGaps records that the tasks skipped their gaps.
	NoGaps bool
	// UserGapDefaults are the gaps used where the study leaves them unset.
	UserGapDefaults GapDefaults
	// SchedulerLog names the scheduler's own output of a run's task ("" for
	// none); a failed run's log tail adds its tail to run.log's, since it
	// holds what the scheduler says when it kills a task (time limit,
	// memory) and what went wrong before llem started.
	SchedulerLog func(run config.Run) string
}

// Gather rebuilds manifest.json of a detached study from its run
// directories and writes study_result.json and results.parquet, with the
// same summary code as Run. A run is completed when its result.json is
// there and is its own; failed when its task recorded a failure, or when it
// left no result and opts.Active is false; pending (or running) otherwise.
// Failed runs carry the tail of their log.
func Gather(dir string, opts GatherOptions) (*results.StudyResult, error) {
	sc, err := results.ReadStudyConfig(dir)
	if err != nil {
		return nil, err
	}
	lock, err := LockDir(dir, 0)
	if err != nil {
		return nil, fmt.Errorf("gather: %w", err)
	}
	defer lock.Unlock()
	old, err := results.ReadManifest(filepath.Join(dir, results.ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("gather %s: %w", dir, err)
	}
	r := &runner{sc: sc, opts: Options{NoGaps: opts.NoGaps}, clock: realClock{}, dir: dir}
	r.plan = config.Plan(sc)
	r.designHash = config.StudyDesignHash(sc)
	if old.StudyDesignHash != r.designHash {
		return nil, fmt.Errorf("gather %s: %w: the manifest has study_design_hash %s, study.json has %s", dir, ErrDesignMismatch, old.StudyDesignHash, r.designHash)
	}
	r.timeout = ExperimentTimeout(sc.Execution)
	r.configGap, r.cycleGap = Gaps(sc.Execution, opts.UserGapDefaults)

	now := time.Now().UTC()
	m := &results.StudyManifest{
		SchemaVersion: results.SchemaVersion, StudyName: sc.Name, StudyDesignHash: r.designHash,
		StudyFile: sc.Path, CreatedAt: old.CreatedAt, UpdatedAt: now, JournalSeq: old.JournalSeq,
		Runs: make([]results.ManifestRun, len(r.plan)),
	}
	for i, run := range r.plan {
		m.Runs[i] = gatherRun(dir, run, opts)
	}
	r.store, err = createManifestStore(dir, m, func() time.Time { return now })
	if err != nil {
		return nil, fmt.Errorf("gather %s: %w", dir, err)
	}
	if err := r.store.close(); err != nil {
		return nil, fmt.Errorf("gather %s: %w", dir, err)
	}
	runnerName := opts.Runner
	if runnerName == "" {
		runnerName = "detached"
	}
	res, rows, readErrs := r.summarize("", runnerName)
	if err := writeStudyResult(dir, res, rows); err != nil {
		return res, err
	}
	return res, joinReadErrs(readErrs)
}

// gatherRun is one run's manifest entry, from what its directory holds.
func gatherRun(dir string, run config.Run, opts GatherOptions) results.ManifestRun {
	name := results.RunDirName(run.Index, run.Cycle, run.MeasurementConfigHash)
	runDir := filepath.Join(dir, name)
	mr := results.ManifestRun{Index: run.Index, Cycle: run.Cycle, Experiment: run.Experiment,
		MeasurementConfigHash: run.MeasurementConfigHash, State: results.StatePending}
	var st TaskState
	hasState := results.ReadJSON(filepath.Join(runDir, TaskStateFile), &st) == nil
	if hasState {
		mr.StartedAt, mr.EndedAt = st.StartedAt, st.EndedAt
	}
	failed := func(typ, msg string) results.ManifestRun {
		mr.State, mr.ErrorType, mr.Error = results.StateFailed, typ, msg
		mr.LogTail = logTail(filepath.Join(runDir, results.RunLogFile), logTailLines)
		if opts.SchedulerLog == nil {
			return mr
		}
		if p := opts.SchedulerLog(run); p != "" {
			if tail := logTail(p, logTailLines); tail != "" {
				mr.LogTail = strings.TrimLeft(mr.LogTail+"\n--- "+filepath.Base(p)+" ---\n"+tail, "\n")
			}
		}
		return mr
	}

	resultPath := filepath.Join(runDir, results.ResultFile)
	if _, err := os.Stat(resultPath); err == nil {
		_, sum, err := results.CheckResult(resultPath, run.MeasurementConfigHash, run.Cycle, "")
		if err != nil {
			return failed(ErrTypeInvalidResult, err.Error())
		}
		mr.ResultSHA256 = sum
		mr.State = results.StateCompleted
		mr.ResultPath = filepath.ToSlash(filepath.Join(name, results.ResultFile))
		return mr
	}
	switch {
	case hasState && st.State == results.StateFailed:
		return failed(st.ErrorType, st.Error)
	case opts.Active && hasState:
		mr.State = results.StateRunning
		return mr
	case opts.Active:
		return mr
	case hasState:
		return failed(ErrTypeMissingResult, fmt.Sprintf("the task started (%s) but left no result: it was killed (time limit, memory, node failure or scancel) before it finished", st.Where))
	default:
		return failed(ErrTypeMissingResult, "the task never ran, or died before it began the run; see its scheduler output")
	}
}
