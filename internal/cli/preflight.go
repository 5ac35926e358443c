package cli

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/dataset"
	"github.com/llenergymeasure/llem/internal/engine/engines"
	"github.com/llenergymeasure/llem/internal/harness"
)

// checkSettings is the pre-flight that needs the model and the data but
// nothing that measures: every model loads as far as its header, every
// engine accepts its settings, every data set holds n prompts, and every
// prompt with its output fits the model's context. It runs before
// --dry-run prints, so a study that cannot run is exit 2 there already.
//
// On a dry run, a Hub data set that cannot be had here (offline, not in
// the cache) is a warning: the run itself downloads it, or fails then.
func checkSettings(ctx context.Context, stdio *IO, sc *config.StudyConfig, dryRun bool) (warnings []string, err error) {
	var errs config.Errors
	seen := map[string]bool{}
	for i, cfg := range sc.Experiments {
		key := preflightKey(cfg)
		if seen[key] {
			continue
		}
		seen[key] = true
		facts, probs := engines.Inspect(cfg)
		if len(probs) == 0 {
			probs = harness.Preflight(ctx, cfg, facts, datasetOptions(stdio, baseDir(sc)))
		}
		for _, p := range probs {
			fe := sc.SettingError(i, p.Field, p.Msg)
			if dryRun && errors.Is(p, dataset.ErrDatasetUnavailable) {
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
	return warnings, nil
}

// preflightKey is what the pre-flight's outcome depends on: configurations
// that differ only in decoding or measurement settings share one check.
func preflightKey(cfg config.ExperimentConfig) string {
	b, _ := json.Marshal(struct {
		Model, ModelSHA256, Precision string
		Backend                       config.Backend
		Native                        *config.NativeConfig
		Dataset                       config.DatasetConfig
		N, MaxIn, MaxOut              int
	}{cfg.Model, cfg.ModelSHA256, cfg.Precision, cfg.Backend, cfg.Native, cfg.Dataset, cfg.N, cfg.MaxInputTokens, cfg.MaxOutputTokens})
	return string(b)
}
