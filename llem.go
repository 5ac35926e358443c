// Package llem is the library API of llem, a tool that measures the energy,
// time and tokens of LLM inference across deployment choices.
//
//	sc, err := config.Load("study.yaml")
//	res, err := llem.Run(ctx, sc, llem.Options{})
//
// RunExperiment measures one experiment in this process and writes nothing.
// Run executes a study, each run in a child process of the llem binary, and
// writes the study's manifest and results under Options.ResultsDir — the
// one documented side effect, which Options.DisableWrites turns off (API-2).
package llem

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/buildinfo"
	"github.com/llenergymeasure/llem/internal/engine"
	"github.com/llenergymeasure/llem/internal/engine/engines"
	"github.com/llenergymeasure/llem/internal/harness"
	"github.com/llenergymeasure/llem/internal/study"
	"github.com/llenergymeasure/llem/results"
)

// Options configures Run and RunExperiment. The zero value is usable: the
// user config in effect (LoadUserConfig with the process environment)
// supplies gaps, sampling interval and carbon context.
type Options struct {
	// User is the machine-local configuration; nil means
	// config.LoadUserConfig(os.Getenv).
	User *config.UserConfig
	// ResultsDir overrides User.ResultsDir for Run.
	ResultsDir string
	// DisableWrites keeps Run from writing anything under ResultsDir.
	DisableWrites bool
	// LlemBinary is the llem executable Run re-executes per run; empty
	// means `llem` on PATH.
	LlemBinary string
	// NoGaps skips thermal gaps between runs (Run).
	NoGaps bool
	// OnStudyEvent, when set, receives Run's progress events.
	OnStudyEvent func(study.Event)
	// OnRunEvent, when set, receives RunExperiment's progress events.
	OnRunEvent func(harness.Event)
}

func (o Options) user() (config.UserConfig, error) {
	if o.User != nil {
		return *o.User, nil
	}
	return config.LoadUserConfig(nil)
}

// RunExperiment measures one experiment in this process and returns its
// result. It writes no files.
func RunExperiment(ctx context.Context, cfg config.ExperimentConfig, opts Options) (*results.ExperimentResult, error) {
	user, err := opts.user()
	if err != nil {
		return nil, err
	}
	bi := buildinfo.Get()
	newEngine := func(c config.ExperimentConfig) (engine.Engine, error) { return engines.New(c, user, nil) }
	ho := harness.UserOptions(user, newEngine, os.Getenv, bi.Version, bi.Commit)
	ho.Observer = opts.OnRunEvent
	return harness.Run(ctx, cfg, ho)
}

// Run executes a study: every planned run in its own child process, in
// order, with gaps, manifest and resume support, and returns the study's
// result. Failed runs are counted in the result, not returned as errors.
func Run(ctx context.Context, sc *config.StudyConfig, opts Options) (*results.StudyResult, error) {
	user, err := opts.user()
	if err != nil {
		return nil, err
	}
	bin := opts.LlemBinary
	if bin == "" {
		bin, err = exec.LookPath("llem")
		if err != nil {
			return nil, errors.New("llem.Run re-executes the llem binary per run and found none on PATH: install it (go install github.com/llenergymeasure/llem/cmd/llem@latest) or set Options.LlemBinary")
		}
	}
	dir := opts.ResultsDir
	if dir == "" {
		dir = user.ResultsDir
	}
	so := study.Options{
		ResultsDir:      dir,
		DisableWrites:   opts.DisableWrites,
		NoGaps:          opts.NoGaps,
		Executable:      bin,
		Args:            []string{"__run-child"},
		UserGapDefaults: study.GapDefaults{ConfigGapSeconds: user.ConfigGapSeconds, CycleGapSeconds: user.CycleGapSeconds},
	}
	if opts.OnStudyEvent != nil {
		so.Observer = study.ObserverFunc(opts.OnStudyEvent)
	}
	res, err := study.Run(ctx, sc, so)
	if err != nil && res == nil {
		return nil, fmt.Errorf("run study %s: %w", sc.Name, err)
	}
	return res, err
}
