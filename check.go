package llem

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/dataset"
	"github.com/llenergymeasure/llem/internal/engine/engines"
	"github.com/llenergymeasure/llem/internal/engine/pyworker"
	"github.com/llenergymeasure/llem/internal/gpucontrol"
	"github.com/llenergymeasure/llem/internal/harness"
)

// CheckOptions configures Check.
type CheckOptions struct {
	// User is the machine-local configuration; nil means
	// config.LoadUserConfig(Getenv).
	User *config.UserConfig
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
	// BaseDir is the base of relative paths; empty means the study file's
	// folder.
	BaseDir string
	// DryRun turns what only the run itself can settle into warnings: a
	// Hub data set not available here yet, a Python environment or an
	// NVIDIA GPU (for gpu: settings) missing on this machine.
	DryRun bool
}

// Check is the pre-flight Run starts with, and what a dry run shows: every
// model loads as far as its header, every engine accepts its settings,
// every data set holds n prompts, every prompt with its output fits the
// model's context (config.Errors naming file, line and field), and the
// machine offers the Python environments the GPU backends need. It
// measures nothing.
func Check(ctx context.Context, sc *config.StudyConfig, opts CheckOptions) (warnings []string, err error) {
	o := Options{User: opts.User, Getenv: opts.Getenv, BaseDir: opts.BaseDir}
	user, err := o.user()
	if err != nil {
		return nil, err
	}
	warnings = []string{}
	machineErr := checkMachine(ctx, sc, user)
	if opts.DryRun && machineErr != nil {
		warnings = append(warnings, machineErr.Error())
		machineErr = nil
	}
	dsOpts := dataset.OptionsFromEnv(o.getenv())
	dsOpts.BaseDir = o.baseDir(sc)
	var errs config.Errors
	var labels []string // computed once, at the first problem
	seen := map[string]bool{}
	for i, cfg := range sc.Experiments {
		key := checkKey(cfg)
		if seen[key] {
			continue
		}
		seen[key] = true
		facts, probs := engines.Inspect(cfg)
		if len(probs) == 0 {
			probs = harness.Preflight(ctx, cfg, facts, dsOpts)
		}
		if len(probs) > 0 && labels == nil {
			labels = sc.Labels()
		}
		for _, p := range probs {
			fe := sc.SettingError(i, labels[i], p.Field, p.Msg)
			// A dry run may plan on a machine other than the one that
			// measures: no data set or no GPU here yet is a warning.
			if opts.DryRun && (errors.Is(p, dataset.ErrDatasetUnavailable) || errors.Is(p, gpucontrol.ErrUnavailable)) {
				warnings = append(warnings, fe.Error())
				continue
			}
			errs = append(errs, fe)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	if len(errs) > 0 {
		return warnings, errs
	}
	return warnings, machineErr
}

// checkKey is what the settings check's outcome depends on: configurations
// that differ only in decoding or measurement settings share one check.
func checkKey(cfg config.ExperimentConfig) string {
	b, _ := json.Marshal(struct {
		Model, ModelSHA256, Precision string
		Backend                       config.Backend
		Native                        *config.NativeConfig
		GPU                           *config.GPUConfig
		Dataset                       config.DatasetConfig
		N, MaxIn, MaxOut              int
	}{cfg.Model, cfg.ModelSHA256, cfg.Precision, cfg.Backend, cfg.Native, cfg.GPU, cfg.Dataset, cfg.N, cfg.MaxInputTokens, cfg.MaxOutputTokens})
	return string(b)
}

// checkMachine checks what this machine must offer before hours of
// running: Python environments for GPU backends, a container runtime for
// studies mixing backends that need different environments (ENG-4).
func checkMachine(ctx context.Context, sc *config.StudyConfig, user config.UserConfig) error {
	var py []config.Backend
	optional := map[config.Backend][]string{}
	for _, cfg := range sc.Experiments {
		optional[cfg.Backend] = append(optional[cfg.Backend], pyworker.ConfigModules(cfg)...)
		if config.IsPythonBackend(cfg.Backend) && !slices.Contains(py, cfg.Backend) {
			py = append(py, cfg.Backend)
		}
	}
	if len(py) == 0 {
		return nil
	}
	slices.Sort(py)
	runners := engines.Runners(user)
	if len(py) > 1 {
		if err := pyworker.CheckMixedBackends(ctx, py, runners); err != nil {
			return fmt.Errorf("pre-flight: %w", err)
		}
	}
	var errs []error
	for _, b := range py {
		if err := pyworker.Check(ctx, b, runners[b], optional[b]...).Err(); err != nil {
			errs = append(errs, fmt.Errorf("pre-flight: %w", err))
		}
	}
	return errors.Join(errs...)
}
