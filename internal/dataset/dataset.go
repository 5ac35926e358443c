package dataset

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/engine"
	"github.com/llenergymeasure/llem/results"
)

// Prompt orders accepted in config.DatasetConfig.Order.
const (
	OrderInterleaved = "interleaved"
	OrderGrouped     = "grouped"
	OrderShuffled    = "shuffled"
)

// ErrDatasetUnavailable is wrapped by errors for a dataset that can be
// neither downloaded nor found in the local cache (no network, offline mode).
// The CLI maps it to exit status 2.
var ErrDatasetUnavailable = errors.New("dataset unavailable")

// ErrPoolTooSmall is wrapped by the error for an n larger than the data
// set's pool of prompts (bad input, exit status 2).
var ErrPoolTooSmall = errors.New("lower n or use a larger data set")

// Set is a loaded, ordered selection of prompts and its identity.
type Set struct {
	Prompts []engine.Prompt
	Info    results.DatasetInfo
}

// Options are the machine-local settings Load needs; none of them enter the
// dataset's identity.
type Options struct {
	// BaseDir resolves relative file paths (the config file's directory).
	BaseDir string
	// HubEndpoint is the Hugging Face Hub base URL (HF_ENDPOINT).
	HubEndpoint string
	// HubCache is the huggingface_hub cache directory (HF_HUB_CACHE, or
	// HF_HOME/hub).
	HubCache string
	// Token is the Hub access token (HF_TOKEN or the token file under
	// HF_HOME). It is sent as a bearer header and never logged or put in
	// errors.
	Token string
	// Offline uses only the cache (HF_HUB_OFFLINE).
	Offline bool
	// HTTPClient, when nil, is a client with no overall timeout (the context
	// bounds each download).
	HTTPClient *http.Client
	// MaxInputTokens, when > 0, is the experiment's max_input_tokens: longer
	// prompts are cut to it where the tokenizer is known, and a synthetic
	// input length above it is an error.
	MaxInputTokens int
	// MaxOutputTokens, when > 0, is the experiment's max_output_tokens: a
	// prompt's own output length (synthetic lengths, a JSONL line's
	// max_new_tokens) is capped by it; the smaller of the two wins.
	MaxOutputTokens int
}

// Load builds the prompts of cfg, ordered by cfg.Order and cut to n. tok is
// the engine's tokenizer, or nil when the engine exposes none; it is used by
// synthetic prompts (exact token lengths) and by grouped ordering.
func Load(ctx context.Context, cfg config.DatasetConfig, n int, tok engine.Tokenizer, opts Options) (*Set, error) {
	if n <= 0 {
		return nil, fmt.Errorf("dataset: n must be at least 1, got %d", n)
	}
	// Defaults live in the config package; a config that came through
	// config.Load already has them, one built in code gets them here.
	full := config.ExperimentConfig{Dataset: cfg, N: n}
	config.ApplyDefaults(&full)
	cfg = full.Dataset
	order := cfg.Order
	switch order {
	case OrderInterleaved, OrderGrouped, OrderShuffled:
	default:
		return nil, fmt.Errorf("dataset: unknown order %q (want %s, %s or %s)", order, OrderInterleaved, OrderGrouped, OrderShuffled)
	}

	name := cfg.Name
	var (
		pool []item
		info results.DatasetInfo
		err  error
	)
	switch name {
	case config.DatasetSynthetic:
		pool, info, err = synthetic(cfg, n, tok, opts.MaxInputTokens)
	case config.DatasetBuiltin:
		pool, info, err = builtin()
	case config.DatasetJSONL, config.DatasetShareGPT:
		pool, info, err = loadFile(name, resolvePath(opts.BaseDir, cfg.Path))
	case config.DatasetAIEnergyScore:
		pool, info, err = aiEnergyScore(ctx, cfg.Revision, opts)
	default:
		return nil, fmt.Errorf("dataset: unknown dataset %q (want %s, %s, %s, %s or %s)", cfg.Name,
			config.DatasetSynthetic, config.DatasetBuiltin, config.DatasetAIEnergyScore, config.DatasetJSONL, config.DatasetShareGPT)
	}
	if err != nil {
		return nil, err
	}
	if cfg.FileSHA256 != "" && info.SHA256 != "" && cfg.FileSHA256 != info.SHA256 && cfg.Path != "" {
		return nil, fmt.Errorf("dataset %s: %s changed since the config was loaded (SHA-256 %s, was %s)", name, cfg.Path, info.SHA256, cfg.FileSHA256)
	}
	if cfg.N > 0 && cfg.N < len(pool) {
		pool = pool[:cfg.N]
	}
	if n > len(pool) {
		return nil, fmt.Errorf("dataset %s: n = %d but the pool holds only %d prompts: %w", name, n, len(pool), ErrPoolTooSmall)
	}

	ordered := orderItems(pool, order, cfg.Seed, tok)[:n]
	prompts := make([]engine.Prompt, len(ordered))
	for i, it := range ordered {
		prompts[i] = it.prompt
	}
	if info.Params == nil {
		info.Params = map[string]any{}
	}
	if opts.MaxInputTokens > 0 {
		if tok == nil {
			return nil, fmt.Errorf("dataset %s: max_input_tokens %d needs the engine's tokenizer to cut prompts, and this engine exposes none", name, opts.MaxInputTokens)
		}
		info.Params["max_input_tokens"] = opts.MaxInputTokens
		info.Params["truncated_to_max_input_tokens"] = truncate(prompts, opts.MaxInputTokens, tok)
	}
	if opts.MaxOutputTokens > 0 {
		info.Params["max_output_tokens"] = opts.MaxOutputTokens
		info.Params["capped_to_max_output_tokens"] = capOutput(prompts, opts.MaxOutputTokens)
	}
	info.Params["order"] = order
	info.Params["pool"] = len(pool)
	info.Params["n"] = n
	if order == OrderShuffled {
		info.Params["seed"] = cfg.Seed
	}
	return &Set{Prompts: prompts, Info: info}, nil
}

func resolvePath(base, path string) string {
	if path == "" || filepath.IsAbs(path) || base == "" {
		return path
	}
	return filepath.Join(base, path)
}

// item is one prompt of a pool with what ordering needs to know about it.
type item struct {
	prompt engine.Prompt
	// source names the sub-collection the prompt comes from (a builtin task,
	// a file's "source" field); empty when the pool has none.
	source string
}

// capOutput lowers the output length of prompts that ask for more than
// maxNew, and sets it on prompts that ask for none, so every engine sees
// the final length on the prompt; it returns how many it lowered.
func capOutput(prompts []engine.Prompt, maxNew int) int {
	capped := 0
	for i, p := range prompts {
		if p.MaxNewTokens > maxNew {
			capped++
		}
		if p.MaxNewTokens == 0 || p.MaxNewTokens > maxNew {
			prompts[i].MaxNewTokens = maxNew
		}
	}
	return capped
}

// truncate cuts prompts longer than maxTokens tokens to their first
// maxTokens tokens (Text becomes the decoded cut, Tokens the cut ids, chat
// messages are dropped) and returns how many it cut.
func truncate(prompts []engine.Prompt, maxTokens int, tok engine.Tokenizer) int {
	cut := 0
	for i, p := range prompts {
		ids := p.Tokens
		if ids == nil {
			ids = tok.Encode(p.Text)
		}
		if len(ids) <= maxTokens {
			continue
		}
		ids = ids[:maxTokens:maxTokens]
		prompts[i].Tokens, prompts[i].Text, prompts[i].Messages = ids, tok.Decode(ids), nil
		cut++
	}
	return cut
}
