package harness

import (
	"slices"
	"unicode/utf8"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/engine"
)

// Batching strategies (pytorch.batching_strategy).
const (
	// BatchingStatic cuts the prompts, in dataset order, into batches of
	// batch_size.
	BatchingStatic = "static"
	// BatchingDynamic groups prompts of similar length: prompts are sorted
	// by input length (longest first, ties in dataset order) before being
	// cut into batches of batch_size, so a batch pads its shorter prompts
	// less. Length is the prompt's token count when llem tokenised it, else
	// its character count (messages included).
	BatchingDynamic = "dynamic"
)

// batchingOf is the experiment's batching strategy: pytorch's
// batching_strategy, static everywhere else.
func batchingOf(cfg config.ExperimentConfig) string {
	if cfg.Backend == config.BackendPyTorch && cfg.PyTorch != nil && cfg.PyTorch.BatchingStrategy != nil {
		return *cfg.PyTorch.BatchingStrategy
	}
	return BatchingStatic
}

// batchesOf splits prompts into batches of at most size under strategy.
func batchesOf(prompts []engine.Prompt, size int, strategy string) [][]engine.Prompt {
	size = max(size, 1)
	if strategy == BatchingDynamic {
		prompts = slices.Clone(prompts)
		slices.SortStableFunc(prompts, func(a, b engine.Prompt) int { return promptLength(b) - promptLength(a) })
	}
	var out [][]engine.Prompt
	for start := 0; start < len(prompts); start += size {
		out = append(out, prompts[start:min(start+size, len(prompts))])
	}
	return out
}

// promptLength is the prompt's length in tokens when known, else in
// characters.
func promptLength(p engine.Prompt) int {
	if len(p.Tokens) > 0 {
		return len(p.Tokens)
	}
	n := utf8.RuneCountInString(p.Text)
	for _, m := range p.Messages {
		n += utf8.RuneCountInString(m.Content)
	}
	return n
}
