package pyworker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/engine"
)

// defaultGrace bounds how long Close waits for a worker to shut down.
const defaultGrace = 30 * time.Second

// Engine runs one backend's Python worker. Load starts the worker; Close
// shuts it down.
type Engine struct {
	backend config.Backend
	runner  Runner
	conn    *conn
	hello   Hello
}

var (
	_ engine.Engine       = (*Engine)(nil)
	_ engine.ProcessOwner = (*Engine)(nil)
)

// PIDs is the local worker's process (none for a container worker).
func (e *Engine) PIDs() []int {
	if e.conn == nil || e.conn.p.pid == 0 {
		return nil
	}
	return []int{e.conn.p.pid}
}

// New returns an unloaded engine for a Python backend (pytorch, vllm,
// tensorrt), whose Python comes from runner.
func New(backend config.Backend, runner Runner) engine.Engine {
	return &Engine{backend: backend, runner: runner}
}

// Hello is what the worker reported about its environment; zero before Load.
func (e *Engine) Hello() Hello { return e.hello }

// Load starts the worker, checks its protocol version and loads the model.
func (e *Engine) Load(ctx context.Context, cfg config.ExperimentConfig) (engine.LoadInfo, error) {
	if e.conn != nil {
		return engine.LoadInfo{}, fmt.Errorf("%s engine: already loaded", e.backend)
	}
	if cfg.Backend != e.backend {
		return engine.LoadInfo{}, fmt.Errorf("%s engine given a %s experiment", e.backend, cfg.Backend)
	}
	script, ok := scriptFor[e.backend]
	if !ok {
		return engine.LoadInfo{}, fmt.Errorf("%s: %w", e.backend, errNoBackend)
	}
	dir, err := WriteScripts(e.runner.CacheDir)
	if err != nil {
		return engine.LoadInfo{}, err
	}
	l := launch{scriptDir: dir, script: filepath.Join(dir, "workers", script), mounts: map[string]string{}}
	if e.runner.WorkerScript != "" {
		if l.script, err = filepath.Abs(e.runner.WorkerScript); err != nil {
			return engine.LoadInfo{}, err
		}
	}
	req, err := e.loadRequest(cfg, &l)
	if err != nil {
		return engine.LoadInfo{}, err
	}
	stderr := newTail(16<<10, e.runner.Log)
	p, err := e.runner.start(ctx, l, stderr)
	if err != nil {
		return engine.LoadInfo{}, fmt.Errorf("%s worker: %w", e.backend, err)
	}
	e.conn = newConn(p)
	info, err := e.handshake(ctx, cfg.Model, req)
	if err != nil {
		e.conn.close(5 * time.Second)
		e.conn = nil
		return engine.LoadInfo{}, fmt.Errorf("%s worker: %w", e.backend, err)
	}
	return info, nil
}

// handshake says hello and loads; model is the reference as the user wrote
// it (req.Model may be rewritten to a path the worker sees).
func (e *Engine) handshake(ctx context.Context, model string, req loadRequest) (engine.LoadInfo, error) {
	if err := e.conn.call(ctx, "hello", helloRequest{Protocol: ProtocolVersion}, &e.hello); err != nil {
		return engine.LoadInfo{}, err
	}
	if e.hello.Protocol != ProtocolVersion {
		return engine.LoadInfo{}, fmt.Errorf("worker speaks protocol %d, llem %d", e.hello.Protocol, ProtocolVersion)
	}
	var lr loadReply
	if err := e.conn.call(ctx, "load", req, &lr); err != nil {
		return engine.LoadInfo{}, err
	}
	info := engine.LoadInfo{
		ModelName:         model,
		Weights:           lr.Weights,
		Parameters:        lr.Parameters,
		Device:            lr.Device,
		GPUIndices:        lr.GPUIndices,
		ExactOutputLength: lr.ExactOutputLength,
		Effective:         lr.Effective,
		Versions:          map[string]string{},
		Warnings:          lr.Warnings,
	}
	if info.Effective == nil {
		info.Effective = map[string]any{}
	}
	info.Effective["worker_load_seconds"] = lr.LoadSeconds
	info.Effective["worker_protocol"] = e.hello.Protocol
	if e.runner.Image != "" {
		info.Effective["container_image"] = e.runner.Image
	} else {
		info.Effective["python"] = e.hello.Executable
	}
	for k, v := range e.hello.Versions {
		info.Versions[k] = v
	}
	for k, v := range lr.Versions {
		info.Versions[k] = v
	}
	if info.Device == "" && len(e.hello.GPUs) > 0 {
		info.Device = "cuda:0"
	}
	return info, nil
}

// loadRequest builds the load message, registering local paths the worker
// must see (mounted when it runs in a container).
func (e *Engine) loadRequest(cfg config.ExperimentConfig, l *launch) (loadRequest, error) {
	req := loadRequest{
		Model:             cfg.Model,
		Precision:         cfg.Precision,
		PassthroughKwargs: cfg.PassthroughKwargs,
		Seed:              cfg.RandomSeed,
	}
	var section any
	switch e.backend {
	case config.BackendPyTorch:
		if cfg.PyTorch != nil {
			section = cfg.PyTorch
			req.RandomInit = cfg.PyTorch.RandomInit != nil && *cfg.PyTorch.RandomInit
		}
	case config.BackendVLLM:
		if cfg.VLLM != nil {
			section = cfg.VLLM
		}
	case config.BackendTensorRT:
		if cfg.TensorRT != nil {
			section = cfg.TensorRT
		}
		root, err := engineCacheRoot()
		if err != nil {
			return req, err
		}
		l.engineDir = root
		req.EngineDir = filepath.Join(root, EngineCacheKey(cfg))
	}
	opts, err := sectionOptions(section)
	if err != nil {
		return req, err
	}
	req.Options = opts
	if cfg.Decoder.SpeculativeDecoding {
		req.DraftModel = cfg.Decoder.DraftModel
	}
	if shape, ok := shippedShapes[cfg.Model]; ok && req.RandomInit {
		req.Model = filepath.Join(l.scriptDir, filepath.FromSlash(shape))
	} else if isLocal(cfg.Model) {
		abs, err := filepath.Abs(cfg.Model)
		if err != nil {
			return req, err
		}
		l.mounts[abs] = ctrModel
		req.Model = abs
	}
	if cfg.LoRA != nil {
		lora := *cfg.LoRA
		if lora.AdapterPath != "" {
			abs, err := filepath.Abs(lora.AdapterPath)
			if err != nil {
				return req, err
			}
			l.mounts[abs] = ctrLoRA
			lora.AdapterPath = e.runner.workerPath(*l, abs)
		}
		req.LoRA = lora
	}
	req.Model = e.runner.workerPath(*l, req.Model)
	req.EngineDir = e.runner.workerPath(*l, req.EngineDir)
	return req, nil
}

// sectionOptions turns a backend section into a map holding only the
// fields the user set (unset pointers are omitted by their JSON tags).
func sectionOptions(section any) (map[string]any, error) {
	opts := map[string]any{}
	if section == nil {
		return opts, nil
	}
	b, err := json.Marshal(section)
	if err != nil {
		return nil, fmt.Errorf("encode backend options: %w", err)
	}
	if err := json.Unmarshal(b, &opts); err != nil {
		return nil, fmt.Errorf("encode backend options: %w", err)
	}
	return opts, nil
}

func isLocal(model string) bool {
	_, err := os.Stat(model)
	return err == nil
}

// engineCacheRoot is where TensorRT-LLM engines are cached.
func engineCacheRoot() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("tensorrt engine cache: %w", err)
	}
	dir := filepath.Join(cache, "llem", "trt-engines")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("tensorrt engine cache: %w", err)
	}
	return dir, nil
}

// EngineCacheKey names a TensorRT-LLM engine build: model × precision × tp
// × pp × max batch × max seq len × quantisation. The builder's
// optimisation level is left out (it changes build time, not the engine's
// function), as are runtime-only settings.
func EngineCacheKey(cfg config.ExperimentConfig) string {
	t := cfg.TensorRT
	if t == nil {
		t = &config.TensorRTConfig{}
	}
	key := struct {
		Model        string `json:"model"`
		Precision    string `json:"precision"`
		TP           *int   `json:"tp"`
		PP           *int   `json:"pp"`
		MaxBatch     *int   `json:"max_batch"`
		MaxSeqLen    *int   `json:"max_seq_len"`
		Quantization string `json:"quantization"`
	}{cfg.Model, cfg.Precision, t.TPSize, t.PPSize, t.MaxBatchSize, t.MaxSeqLen, deref(t.Quantization)}
	b, _ := json.Marshal(key) // plain values: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:20]
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Generate runs one batch in the worker. The worker synchronises the device
// before it answers.
func (e *Engine) Generate(ctx context.Context, batch []engine.Prompt, p engine.GenParams) ([]engine.Completion, error) {
	if e.conn == nil {
		return nil, fmt.Errorf("%s engine: Generate before Load", e.backend)
	}
	sent := time.Now()
	var r generateReply
	if err := e.conn.call(ctx, "generate", generateRequest{Prompts: batch, Params: p}, &r); err != nil {
		return nil, fmt.Errorf("%s worker: %w", e.backend, err)
	}
	if len(r.Completions) != len(batch) {
		return nil, fmt.Errorf("%s worker: %d completions for a batch of %d", e.backend, len(r.Completions), len(batch))
	}
	out := make([]engine.Completion, len(r.Completions))
	for i, c := range r.Completions {
		if c.PromptID != batch[i].ID {
			return nil, fmt.Errorf("%s worker: completion %d is for prompt %q, expected %q", e.backend, i, c.PromptID, batch[i].ID)
		}
		times := make([]time.Duration, len(c.TokenTimesS))
		for j, s := range c.TokenTimesS {
			times[j] = seconds(s)
		}
		out[i] = engine.Completion{
			PromptID:     c.PromptID,
			PromptTokens: c.PromptTokens,
			OutputTokens: c.OutputTokens,
			Text:         c.Text,
			TokenIDs:     c.TokenIDs,
			Start:        sent.Add(seconds(c.StartS)),
			TokenTimes:   times,
			End:          seconds(c.EndS),
			FinishReason: c.FinishReason,
		}
	}
	return out, nil
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// Close shuts the worker down; it is safe to call more than once.
func (e *Engine) Close() error {
	if e.conn == nil {
		return nil
	}
	err := e.conn.close(defaultGrace)
	e.conn = nil
	if err != nil {
		return fmt.Errorf("%s worker: close: %w", e.backend, err)
	}
	return nil
}
