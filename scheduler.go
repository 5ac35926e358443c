package llem

import (
	"context"
	"io"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/study"
	"github.com/llenergymeasure/llem/results"
)

// ArrayTaskCommand is the hidden subcommand each task of a scheduler's job
// array runs (STU-8); its body is RunTask.
const ArrayTaskCommand = "__run-array-task"

// Prepare creates a study's directory for runs a scheduler executes:
// the same layout, study.json and manifest as Run, every run pending. It
// returns the directory and the number of runs.
func Prepare(sc *config.StudyConfig, resultsDir string) (dir string, runs int, err error) {
	dir, plan, err := study.Prepare(sc, resultsDir)
	return dir, len(plan), err
}

// TaskOptions configures RunTask.
type TaskOptions struct {
	// User is the machine-local configuration; nil means
	// config.LoadUserConfig(Getenv).
	User *config.UserConfig
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
	// BaseDir is the base of the study's relative paths.
	BaseDir string
	// NoGaps skips the gap before the run.
	NoGaps bool
	// Where names the host and scheduler task, for people reading it.
	Where string
}

// RunTask measures run index of the prepared study in dir, in this
// process, after the gap the local runner would have waited, under the
// same timeout, and writes its result into the run's directory.
func RunTask(ctx context.Context, dir string, index int, opts TaskOptions) error {
	o := Options{User: opts.User, Getenv: opts.Getenv}
	user, err := o.user()
	if err != nil {
		return err
	}
	getenv := o.getenv()
	return study.RunTask(ctx, dir, index, func(ctx context.Context, req study.ChildRequest, log io.Writer) (*results.ExperimentResult, error) {
		return measure(ctx, user, getenv, req, log, false)
	}, study.TaskOptions{NoGaps: opts.NoGaps, UserGapDefaults: gapDefaults(user), Where: opts.Where, BaseDir: opts.BaseDir})
}

// GatherOptions configures Gather.
type GatherOptions struct {
	// Runner names where the runs executed, for StudyResult.Runner.
	Runner string
	// Active says the tasks may still be running: a run with no outcome
	// yet is then pending, not failed.
	Active bool
	// NoGaps records that the tasks skipped their gaps.
	NoGaps bool
	// User supplies the gap defaults recorded in the protocol.
	User config.UserConfig
	// SchedulerLog names the scheduler's own output of a run's task.
	SchedulerLog func(runIndex int) string
}

// Gather rebuilds the manifest of a study run by a scheduler from its run
// directories and writes study_result.json and results.parquet.
func Gather(dir string, opts GatherOptions) (*results.StudyResult, error) {
	so := study.GatherOptions{Runner: opts.Runner, Active: opts.Active, NoGaps: opts.NoGaps, UserGapDefaults: gapDefaults(opts.User)}
	if opts.SchedulerLog != nil {
		so.SchedulerLog = func(run config.Run) string { return opts.SchedulerLog(run.Index) }
	}
	return study.Gather(dir, so)
}
