// Package engines is the one registry of llem's engines: adding an engine
// is adding a package and a line here.
package engines

import (
	"fmt"
	"io"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/engine"
	"github.com/llenergymeasure/llem/internal/engine/native"
	"github.com/llenergymeasure/llem/internal/engine/openai"
	"github.com/llenergymeasure/llem/internal/engine/pyworker"
)

// New returns an unloaded engine for cfg's backend. user supplies the
// machine-local runner settings (which Python or container image); log
// receives a Python worker's own output (nil discards it).
func New(cfg config.ExperimentConfig, user config.UserConfig, log io.Writer) (engine.Engine, error) {
	switch cfg.Backend {
	case config.BackendNative:
		return native.New(), nil
	case config.BackendOpenAI:
		return openai.New(), nil
	case config.BackendPyTorch, config.BackendVLLM, config.BackendTensorRT:
		r := runnerFor(cfg.Backend, user)
		r.Log = log
		return pyworker.New(cfg.Backend, r), nil
	default:
		return nil, fmt.Errorf("unknown backend %q (known: native, pytorch, vllm, tensorrt, openai)", cfg.Backend)
	}
}

// runnerFor maps the user config's runner for a Python backend to the
// worker's Runner: a local interpreter (python3 on PATH when unset) or a
// container image.
func runnerFor(b config.Backend, user config.UserConfig) pyworker.Runner {
	r := user.Runners[b]
	return pyworker.Runner{Python: r.Python, Image: r.Image}
}

// Runners maps every Python backend's user-config runner for preflight checks.
func Runners(user config.UserConfig) map[config.Backend]pyworker.Runner {
	out := map[config.Backend]pyworker.Runner{}
	for _, b := range []config.Backend{config.BackendPyTorch, config.BackendVLLM, config.BackendTensorRT} {
		out[b] = runnerFor(b, user)
	}
	return out
}

// Inspect returns what can be known about cfg's model before loading it,
// and the settings the backend's engine refuses for it.
func Inspect(cfg config.ExperimentConfig) (engine.ModelFacts, []*engine.SettingError) {
	switch cfg.Backend {
	case config.BackendNative:
		return native.Inspect(cfg)
	case config.BackendPyTorch, config.BackendVLLM, config.BackendTensorRT:
		return pyworker.Inspect(cfg), nil
	case config.BackendOpenAI:
		return engine.ModelFacts{}, openai.Inspect(cfg)
	default:
		return engine.ModelFacts{}, nil
	}
}
