package harness

import (
	"context"
	"errors"
	"fmt"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/dataset"
	"github.com/llenergymeasure/llem/internal/engine"
	"github.com/llenergymeasure/llem/internal/gpucontrol"
)

// Preflight checks, before anything is measured, that cfg's prompts can be
// built (the data set holds n prompts, max_input_tokens can be applied)
// and that every prompt with its output fits the model's context. facts
// come from the engine's Inspect. It returns every problem found; the CLI
// runs it for --dry-run and before a study, and Run runs it again before
// the baseline. With gpu: settings it also checks, on this machine's
// GPUs, that NVML is there, allows the change (root) and the values are in
// the card's range.
func Preflight(ctx context.Context, cfg config.ExperimentConfig, facts engine.ModelFacts, dsOpts dataset.Options) []*engine.SettingError {
	return preflight(ctx, cfg, facts, dsOpts, gpucontrol.Open, nil)
}

func preflight(ctx context.Context, cfg config.ExperimentConfig, facts engine.ModelFacts, dsOpts dataset.Options, openGPU gpucontrol.Opener, devices []int) []*engine.SettingError {
	if errs := checkGPU(cfg, openGPU, devices); len(errs) > 0 {
		return errs
	}
	set, err := loadPrompts(ctx, cfg, facts.Tokenizer, dsOpts)
	if err != nil {
		field := "dataset"
		if errors.Is(err, dataset.ErrPoolTooSmall) {
			field = "n"
		}
		return []*engine.SettingError{{Field: field, Msg: err.Error(), Cause: err}}
	}
	if facts.Context <= 0 {
		return nil
	}
	defaultNew := genParams(cfg).MaxNewTokens
	bos := 0
	if facts.Tokenizer == nil || facts.Tokenizer.BOS() >= 0 {
		bos = 1 // without the tokenizer, assume the usual BOS
	}
	worst, worstNeed, worstIn, worstOut := "", 0, 0, 0
	for _, p := range set.Prompts {
		in, known := promptTokens(p, facts.Tokenizer, cfg.Dataset)
		if !known {
			continue
		}
		out := defaultNew
		if p.MaxNewTokens > 0 {
			out = p.MaxNewTokens
		}
		if need := in + bos + out; need > worstNeed {
			worst, worstNeed, worstIn, worstOut = p.ID, need, in+bos, out
		}
	}
	if worstNeed <= facts.Context {
		return nil
	}
	field := "dataset"
	if cfg.Dataset.Name == config.DatasetSynthetic {
		field = "dataset.input_len"
	}
	return []*engine.SettingError{{Field: field, Msg: fmt.Sprintf(
		"prompt %s needs %d prompt tokens (BOS included) + %d new tokens = %d, more than the model's context of %d (%s); lower dataset.input_len/output_len or set max_input_tokens/max_output_tokens",
		worst, worstIn, worstOut, worstNeed, facts.Context, facts.ContextFrom)}}
}

// loadPrompts builds cfg's prompts with its input and output limits
// applied, as the pre-flight checks them and the run measures them.
func loadPrompts(ctx context.Context, cfg config.ExperimentConfig, tok engine.Tokenizer, opts dataset.Options) (*dataset.Set, error) {
	opts.MaxInputTokens, opts.MaxOutputTokens = cfg.MaxInputTokens, cfg.MaxOutputTokens
	return dataset.Load(ctx, cfg.Dataset, cfg.N, tok, opts)
}

// promptTokens is a prompt's length in tokens, exact with the tokenizer;
// without it only synthetic prompts have a known length (input_len words
// of about one token each).
func promptTokens(p engine.Prompt, tok engine.Tokenizer, ds config.DatasetConfig) (int, bool) {
	switch {
	case p.Tokens != nil:
		return len(p.Tokens), true
	case tok != nil:
		return len(tok.Encode(p.Text)), true
	case ds.Name == config.DatasetSynthetic && ds.InputLenDist != nil:
		return ds.InputLenDist.Max, true
	case ds.Name == config.DatasetSynthetic:
		return ds.InputLen, true
	}
	return 0, false
}

// checkGPU is the pre-flight of the gpu: settings: NVML can be opened,
// allows the change, and each value is within the card's range.
func checkGPU(cfg config.ExperimentConfig, open gpucontrol.Opener, devices []int) []*engine.SettingError {
	s := gpucontrol.FromConfig(cfg.GPU)
	if s.IsZero() {
		return nil
	}
	var probs []gpucontrol.Problem
	ctl, err := open(devices)
	if err != nil {
		probs = gpucontrol.Unavailable(s, err)
	} else {
		probs = gpucontrol.Check(ctl, s)
		_ = ctl.Close()
	}
	out := make([]*engine.SettingError, len(probs))
	for i, p := range probs {
		out[i] = &engine.SettingError{Field: p.Field, Msg: p.Msg, Cause: p.Cause}
	}
	return out
}
