package dataset

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/engine"
	"github.com/llenergymeasure/llem/results"
)

// Dataset names accepted in config.DatasetConfig.Name.
const (
	NameSynthetic     = "synthetic"
	NameBuiltin       = "builtin"
	NameAIEnergyScore = "aienergyscore"
	NameJSONL         = "jsonl"
	NameShareGPT      = "sharegpt"
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
}

// Load builds the prompts of cfg, ordered by cfg.Order and cut to n. tok is
// the engine's tokenizer, or nil when the engine exposes none; it is used by
// synthetic prompts (exact token lengths) and by grouped ordering.
func Load(ctx context.Context, cfg config.DatasetConfig, n int, tok engine.Tokenizer, opts Options) (*Set, error) {
	if n <= 0 {
		return nil, fmt.Errorf("dataset: n must be at least 1, got %d", n)
	}
	order := cfg.Order
	if order == "" {
		order = OrderInterleaved
	}
	switch order {
	case OrderInterleaved, OrderGrouped, OrderShuffled:
	default:
		return nil, fmt.Errorf("dataset: unknown order %q (want %s, %s or %s)", order, OrderInterleaved, OrderGrouped, OrderShuffled)
	}

	name := Kind(cfg)
	var (
		pool []item
		info results.DatasetInfo
		err  error
	)
	switch name {
	case NameSynthetic:
		pool, info, err = synthetic(cfg, n, tok)
	case NameBuiltin:
		pool, info, err = builtin()
	case NameJSONL, NameShareGPT:
		pool, info, err = loadFile(name, resolvePath(opts.BaseDir, cfg.Path))
	case NameAIEnergyScore:
		pool, info, err = aiEnergyScore(ctx, cfg.Revision, opts)
	default:
		return nil, fmt.Errorf("dataset: unknown dataset %q (want %s, %s, %s, %s or %s)", cfg.Name,
			NameSynthetic, NameBuiltin, NameAIEnergyScore, NameJSONL, NameShareGPT)
	}
	if err != nil {
		return nil, err
	}
	if cfg.N > 0 && cfg.N < len(pool) {
		pool = pool[:cfg.N]
	}
	if n > len(pool) {
		return nil, fmt.Errorf("dataset %s: n = %d but the pool holds only %d prompts", name, n, len(pool))
	}

	ordered := orderItems(pool, order, cfg.Seed, tok)[:n]
	prompts := make([]engine.Prompt, len(ordered))
	for i, it := range ordered {
		prompts[i] = it.prompt
	}
	if info.Params == nil {
		info.Params = map[string]any{}
	}
	info.Params["order"] = order
	info.Params["pool"] = len(pool)
	info.Params["n"] = n
	if order == OrderShuffled {
		info.Params["seed"] = cfg.Seed
	}
	return &Set{Prompts: prompts, Info: info}, nil
}

// Kind is the dataset name Load uses for cfg: cfg.Name, or when that is
// empty, jsonl or sharegpt inferred from the path's extension (.jsonl, .json),
// or synthetic when there is no path.
func Kind(cfg config.DatasetConfig) string {
	if cfg.Name != "" {
		return cfg.Name
	}
	switch strings.ToLower(filepath.Ext(cfg.Path)) {
	case "":
		return NameSynthetic
	case ".json":
		return NameShareGPT
	default:
		return NameJSONL
	}
}

// PoolSize is the number of prompts cfg's pool holds when that is known
// without reading anything (synthetic: its n; builtin: the embedded set;
// aienergyscore: 1,000), or -1 when it depends on a file. The config loader
// uses it to reject an experiment n larger than the pool at parse time.
func PoolSize(cfg config.DatasetConfig) int {
	switch Kind(cfg) {
	case NameSynthetic:
		if cfg.N > 0 {
			return cfg.N
		}
		return -1
	case NameBuiltin:
		return capPool(len(builtinItems()), cfg.N)
	case NameAIEnergyScore:
		return capPool(AIEnergyScoreRows, cfg.N)
	default:
		return -1
	}
}

func capPool(size, n int) int {
	if n > 0 && n < size {
		return n
	}
	return size
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
