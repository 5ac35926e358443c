package config

import (
	"encoding/json"
	"regexp"
	"testing"
)

func TestMeasurementConfigHashStable(t *testing.T) {
	// The same configuration written three ways: minimal, with every
	// default spelled out in another key order, and in flow style with
	// dotted keys and the universal batch_size.
	minimal := `
model: m
backend: pytorch
pytorch: {batch_size: 4}
`
	spelled := `
pytorch:
  batch_size: 4
backend: pytorch
precision: bf16
warmup:
  max_prompts: 20
  enabled: true
  n_warmup: 3
  thermal_floor_seconds: 60
  cv_threshold: 0.05
  window_size: 3
  min_prompts: 5
random_seed: 42
n: 100
model: m
decoder:
  top_p: 1.0
  decoding_strategy: greedy
  temperature: 1
  repetition_penalty: 1.0
dataset:
  name: synthetic
  input_len: 512
  output_len: 128
  seed: 42
  order: interleaved
baseline: {enabled: true, duration_seconds: 30}
vllm: null
passthrough_kwargs: {}
`
	flow := `{model: m, "backend": pytorch, batch_size: 4, decoder.top_p: 1, dataset: synthetic}`
	var hashes []string
	for _, src := range []string{minimal, spelled, flow} {
		sc := mustParse(t, src)
		hashes = append(hashes, MeasurementConfigHash(sc.Experiments[0]))
	}
	if hashes[0] != hashes[1] || hashes[1] != hashes[2] {
		t.Fatalf("one configuration, three hashes: %v", hashes)
	}
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(hashes[0]) {
		t.Errorf("hash %q is not 16 hex characters", hashes[0])
	}
	// Built in code from the defaults: the same hash again.
	cfg := DefaultExperiment()
	cfg.Model, cfg.Backend = "m", BackendPyTorch
	if err := SetBatchSize(&cfg, 4); err != nil {
		t.Fatal(err)
	}
	if h := MeasurementConfigHash(cfg); h != hashes[0] {
		t.Errorf("code-built config hash %s, want %s", h, hashes[0])
	}
}

func TestMeasurementConfigHashChanges(t *testing.T) {
	base := DefaultExperiment()
	base.Model, base.Backend = "m", BackendPyTorch
	ApplyDefaults(&base)
	i := func(v int) *int { return &v }
	b := func(v bool) *bool { return &v }
	s := func(v string) *string { return &v }
	mutations := map[string]func(c *ExperimentConfig){
		"model":              func(c *ExperimentConfig) { c.Model = "other" },
		"backend":            func(c *ExperimentConfig) { c.Backend = BackendVLLM },
		"precision":          func(c *ExperimentConfig) { c.Precision = "fp16" },
		"n":                  func(c *ExperimentConfig) { c.N = 99 },
		"max_input_tokens":   func(c *ExperimentConfig) { c.MaxInputTokens = 10 },
		"max_output_tokens":  func(c *ExperimentConfig) { c.MaxOutputTokens = 10 },
		"random_seed":        func(c *ExperimentConfig) { c.RandomSeed = 1 },
		"dataset.name":       func(c *ExperimentConfig) { c.Dataset.Name = DatasetBuiltin },
		"dataset.input_len":  func(c *ExperimentConfig) { c.Dataset.InputLen = 64 },
		"dataset.seed":       func(c *ExperimentConfig) { c.Dataset.Seed = 1 },
		"dataset.order":      func(c *ExperimentConfig) { c.Dataset.Order = "grouped" },
		"dataset.dist":       func(c *ExperimentConfig) { c.Dataset.InputLenDist = &LengthDist{Kind: "uniform", Min: 1, Max: 9} },
		"dataset.sha":        func(c *ExperimentConfig) { c.Dataset.FileSHA256 = "ab" },
		"decoder.strategy":   func(c *ExperimentConfig) { c.Decoder.DecodingStrategy = "sampling" },
		"decoder.temp":       func(c *ExperimentConfig) { c.Decoder.Temperature = 0 },
		"decoder.top_k":      func(c *ExperimentConfig) { c.Decoder.TopK = 5 },
		"decoder.ignore_eos": func(c *ExperimentConfig) { c.Decoder.IgnoreEOS = true },
		"decoder.stop":       func(c *ExperimentConfig) { c.Decoder.StopSequences = []string{"\n"} },
		"warmup.enabled":     func(c *ExperimentConfig) { c.Warmup.Enabled = false },
		"warmup.n":           func(c *ExperimentConfig) { c.Warmup.NWarmup = 1 },
		"warmup.floor":       func(c *ExperimentConfig) { c.Warmup.ThermalFloorSeconds = 90 },
		"warmup.convergence": func(c *ExperimentConfig) { c.Warmup.Convergence = true },
		"baseline.enabled":   func(c *ExperimentConfig) { c.Baseline.Enabled = false },
		"baseline.duration":  func(c *ExperimentConfig) { c.Baseline.DurationSeconds = 10 },
		"lora":               func(c *ExperimentConfig) { c.LoRA = &LoRAConfig{AdapterID: "a"} },
		"lora.merge":         func(c *ExperimentConfig) { c.LoRA = &LoRAConfig{AdapterID: "a", MergeWeights: true} },
		"passthrough":        func(c *ExperimentConfig) { c.PassthroughKwargs = map[string]any{"k": 1} },
		"pytorch.batch":      func(c *ExperimentConfig) { c.PyTorch = &PyTorchConfig{BatchSize: i(2)} },
		"pytorch.compile":    func(c *ExperimentConfig) { c.PyTorch = &PyTorchConfig{TorchCompile: b(false)} },
		"pytorch.attn":       func(c *ExperimentConfig) { c.PyTorch = &PyTorchConfig{AttnImplementation: s("eager")} },
		"vllm":               func(c *ExperimentConfig) { c.VLLM = &VLLMConfig{MaxNumSeqs: i(2)} },
		"tensorrt":           func(c *ExperimentConfig) { c.TensorRT = &TensorRTConfig{TPSize: i(2)} },
		"native":             func(c *ExperimentConfig) { c.Native = &NativeConfig{Threads: i(2)} },
		"openai":             func(c *ExperimentConfig) { c.OpenAI = &OpenAIConfig{BaseURL: "http://h"} },
	}
	seen := map[string]string{MeasurementConfigHash(base): "base"}
	for name, mut := range mutations {
		c := base
		c.Decoder.StopSequences = nil
		mut(&c)
		h := MeasurementConfigHash(c)
		if prev, dup := seen[h]; dup {
			t.Errorf("changing %s gives the same hash as %s", name, prev)
		}
		seen[h] = name
	}
	// Normalised spellings do not change it.
	c := base
	c.PyTorch = &PyTorchConfig{}
	if MeasurementConfigHash(c) != MeasurementConfigHash(base) {
		t.Error("an empty backend section must hash like none")
	}
}

func TestStudyDesignHash(t *testing.T) {
	src := "model: m\nbackend: native\nsweep:\n  batch_size: [1, 2]\n"
	a := mustParse(t, src)
	b := mustParse(t, src+"execution: {n_cycles: 5, cycle_order: shuffled, config_gap_seconds: 1}\n")
	c := mustParse(t, "model: m\nbackend: native\nexperiments:\n  - {batch_size: 2}\n  - {batch_size: 1}\n")
	d := mustParse(t, "model: m\nbackend: native\nsweep:\n  batch_size: [1, 4]\n")
	if StudyDesignHash(a) != StudyDesignHash(b) {
		t.Error("execution must not change the design hash")
	}
	if StudyDesignHash(a) != StudyDesignHash(c) {
		t.Error("the same set of experiments written another way must keep the design hash")
	}
	if StudyDesignHash(a) == StudyDesignHash(d) {
		t.Error("a different experiment must change the design hash")
	}
}
func TestAppendFloatMatchesEncodingJSON(t *testing.T) {
	for _, f := range []float64{0, 1, -1, 0.1, 1.5, 1e-7, 1.23e-9, 1e20, 1e21, 123456789.125, -3e-300, 0.05} {
		want, _ := json.Marshal(f)
		if got := string(appendFloat(nil, f)); got != string(want) {
			t.Errorf("%v: got %s, want %s", f, got, want)
		}
	}
}
