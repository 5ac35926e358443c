package config

import (
	"fmt"
	"slices"
	"strings"
)

// problem is one invalid value or combination in an experiment; field is
// the dotted path it is about, used to locate it in the file.
type problem struct {
	field string
	msg   string
}

func (p problem) String() string { return p.field + ": " + p.msg }

// checker collects problems.
type checker struct{ probs []problem }

func (c *checker) add(field, format string, args ...any) {
	c.probs = append(c.probs, problem{field, fmt.Sprintf(format, args...)})
}

func (c *checker) positive(field string, v *int) {
	if v != nil && *v < 1 {
		c.add(field, "must be at least 1, got %d", *v)
	}
}

func (c *checker) oneOf(field, got string, allowed []string) {
	if got != "" && !slices.Contains(allowed, got) {
		c.add(field, "invalid value %q (allowed: %s)%s", got, quoteList(allowed), suggest(got, allowed))
	}
}

// validateExperiment checks everything about cfg that does not depend on
// this machine: values against their ranges and combinations against the
// capabilities table. inFile says the config came from a file, where the
// methodology minimums apply (the quick demo built in code goes lower).
func validateExperiment(cfg *ExperimentConfig, inFile bool) []problem {
	c := &checker{}
	caps, known := capabilities[cfg.Backend]
	if !known {
		c.add("backend", "invalid value %q (allowed: %s)%s", cfg.Backend, quoteList(backendNames()), suggest(string(cfg.Backend), backendNames()))
	}
	if strings.TrimSpace(cfg.Model) == "" {
		c.add("model", "is required (a Hugging Face id or local path; for native a GGUF path or a shape name such as tiny or stories15M)")
	}
	if known {
		if !slices.Contains(caps.Precisions, cfg.Precision) {
			c.add("precision", "%s on backend %s (allowed: %s)", describePrecision(cfg.Precision), cfg.Backend, describePrecisions(caps.Precisions))
		}
		if s := cfg.Decoder.DecodingStrategy; s != "" && !slices.Contains(caps.DecodingStrategies, s) {
			c.add("decoder.decoding_strategy", "%q is not supported by backend %s (allowed: %s)", s, cfg.Backend, quoteList(caps.DecodingStrategies))
		}
		checkSections(c, cfg)
		checkLoRA(c, cfg, caps)
		checkEffects(c, cfg, caps)
	}
	if cfg.N < 1 {
		c.add("n", "must be at least 1, got %d", cfg.N)
	}
	if cfg.MaxInputTokens < 0 {
		c.add("max_input_tokens", "must not be negative, got %d", cfg.MaxInputTokens)
	}
	if cfg.MaxOutputTokens < 0 {
		c.add("max_output_tokens", "must not be negative, got %d", cfg.MaxOutputTokens)
	}
	checkDataset(c, cfg)
	checkDecoder(c, &cfg.Decoder)
	checkWarmup(c, &cfg.Warmup, inFile)
	if b := cfg.Baseline; b.Enabled && inFile && (b.DurationSeconds < MinBaselineSeconds || b.DurationSeconds > MaxBaselineSeconds) {
		c.add("baseline.duration_seconds", "must be between %d and %d s, got %g", MinBaselineSeconds, MaxBaselineSeconds, b.DurationSeconds)
	} else if b.DurationSeconds < 0 {
		c.add("baseline.duration_seconds", "must not be negative, got %g", b.DurationSeconds)
	}
	if g := cfg.GPU; g != nil {
		c.positive("gpu.power_limit_watts", g.PowerLimitWatts)
		c.positive("gpu.sm_clock_mhz", g.SMClockMHz)
		c.positive("gpu.memory_clock_mhz", g.MemoryClockMHz)
	}
	checkPyTorch(c, cfg.PyTorch)
	checkVLLM(c, cfg.VLLM)
	checkTensorRT(c, cfg.TensorRT)
	if n := cfg.Native; n != nil {
		c.positive("native.batch_size", n.BatchSize)
		c.positive("native.threads", n.Threads)
	}
	checkOpenAI(c, cfg.OpenAI)
	return c.probs
}

func describePrecision(p string) string {
	if p == "" {
		return "the model's own precision (precision unset)"
	}
	return fmt.Sprintf("precision %q is not supported", p)
}

func describePrecisions(ps []string) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p
		if p == "" {
			out[i] = "unset/auto"
		}
	}
	return quoteList(out)
}

// checkSections rejects a backend section given for another backend.
func checkSections(c *checker, cfg *ExperimentConfig) {
	present := map[Backend]bool{
		BackendPyTorch:  cfg.PyTorch != nil,
		BackendVLLM:     cfg.VLLM != nil,
		BackendTensorRT: cfg.TensorRT != nil,
		BackendNative:   cfg.Native != nil,
		BackendOpenAI:   cfg.OpenAI != nil,
	}
	for _, b := range Backends() {
		if present[b] && b != cfg.Backend {
			c.add(string(b), "`%s:` section given but backend is %s", b, cfg.Backend)
		}
	}
	if cfg.Backend == BackendOpenAI && (cfg.OpenAI == nil || cfg.OpenAI.BaseURL == "") {
		c.add("openai.base_url", "is required for backend openai (the server's URL, e.g. http://127.0.0.1:8000/v1)")
	}
}

func checkLoRA(c *checker, cfg *ExperimentConfig, caps Capabilities) {
	l := cfg.LoRA
	if l == nil {
		return
	}
	if (l.AdapterID == "") == (l.AdapterPath == "") {
		c.add("lora", "set exactly one of adapter_id and adapter_path")
	}
	switch caps.LoRA {
	case LoRAMergeFirst:
		c.add("lora", "backend %s cannot load a LoRA adapter at run time: merge the adapter into the model first and measure the merged model", cfg.Backend)
	case LoRAUnsupported:
		c.add("lora", "backend %s does not support LoRA adapters (use pytorch, or vllm with vllm.enable_lora: true)", cfg.Backend)
	case LoRANeedsFlag:
		if cfg.VLLM == nil || cfg.VLLM.EnableLoRA == nil || !*cfg.VLLM.EnableLoRA {
			c.add("lora", "backend vllm needs vllm.enable_lora: true to load a LoRA adapter")
		}
	}
}

func checkDataset(c *checker, cfg *ExperimentConfig) {
	ds := &cfg.Dataset
	names := []string{DatasetSynthetic, DatasetBuiltin, DatasetAIEnergyScore, DatasetJSONL, DatasetShareGPT}
	c.oneOf("dataset.name", ds.Name, names)
	switch ds.Name {
	case DatasetJSONL, DatasetShareGPT:
		if ds.Path == "" {
			c.add("dataset.path", "is required for dataset %s", ds.Name)
		}
	default:
		if ds.Path != "" {
			c.add("dataset.path", "only applies to jsonl and sharegpt datasets, not %s", ds.Name)
		}
	}
	if ds.Revision != "" && ds.Name != DatasetAIEnergyScore {
		c.add("dataset.revision", "only applies to dataset aienergyscore, not %s", ds.Name)
	}
	if ds.N < 0 {
		c.add("dataset.n", "must not be negative, got %d", ds.N)
	}
	if ds.Name == DatasetSynthetic {
		if ds.InputLenDist == nil && ds.InputLen < 1 {
			c.add("dataset.input_len", "must be at least 1, got %d", ds.InputLen)
		}
		if ds.OutputLenDist == nil && ds.OutputLen < 1 {
			c.add("dataset.output_len", "must be at least 1, got %d", ds.OutputLen)
		}
	}
	checkDist(c, "dataset.input_len_dist", ds.InputLenDist)
	checkDist(c, "dataset.output_len_dist", ds.OutputLenDist)
	pool := ds.N
	if ds.Name == DatasetAIEnergyScore && (pool == 0 || pool > aiEnergyScorePoolSize) {
		pool = aiEnergyScorePoolSize
	}
	if pool > 0 && cfg.N > pool {
		c.add("n", "%d prompts requested but the dataset pool holds %d (dataset.n)", cfg.N, pool)
	}
}

func checkDist(c *checker, field string, d *LengthDist) {
	if d == nil {
		return
	}
	if d.Min < 1 || d.Max < d.Min {
		c.add(field, "needs 1 <= min <= max, got min %d max %d", d.Min, d.Max)
	}
	if d.Kind == "normal" && d.Std < 0 {
		c.add(field+".std", "must not be negative, got %g", d.Std)
	}
}

func checkDecoder(c *checker, d *DecoderConfig) {
	c.oneOf("decoder.preset", d.Preset, DecoderPresets())
	if d.Temperature < 0 {
		c.add("decoder.temperature", "must not be negative, got %g", d.Temperature)
	}
	if d.TopP <= 0 || d.TopP > 1 {
		c.add("decoder.top_p", "must be in (0, 1], got %g", d.TopP)
	}
	if d.TopK < 0 {
		c.add("decoder.top_k", "must not be negative, got %d", d.TopK)
	}
	if d.RepetitionPenalty <= 0 {
		c.add("decoder.repetition_penalty", "must be positive, got %g", d.RepetitionPenalty)
	}
	if d.MinNewTokens < 0 {
		c.add("decoder.min_new_tokens", "must not be negative, got %d", d.MinNewTokens)
	}
	switch {
	case d.DecodingStrategy == "beam" && d.NumBeams < 2:
		c.add("decoder.num_beams", "beam search needs num_beams of at least 2, got %d", d.NumBeams)
	case d.DecodingStrategy != "beam" && d.NumBeams != 0:
		c.add("decoder.num_beams", "only applies to decoding_strategy beam, not %s", d.DecodingStrategy)
	}
	if d.SpeculativeDecoding && d.DraftModel == "" {
		c.add("decoder.draft_model", "is required when speculative_decoding is true")
	}
	if !d.SpeculativeDecoding && d.DraftModel != "" {
		c.add("decoder.speculative_decoding", "must be true when draft_model is set")
	}
}

func checkWarmup(c *checker, w *WarmupConfig, inFile bool) {
	if w.NWarmup < 0 {
		c.add("warmup.n_warmup", "must not be negative, got %d", w.NWarmup)
	}
	if w.Enabled && inFile && w.ThermalFloorSeconds < MinThermalFloorSeconds {
		c.add("warmup.thermal_floor_seconds", "must be at least %d s, got %g", MinThermalFloorSeconds, w.ThermalFloorSeconds)
	} else if w.ThermalFloorSeconds < 0 {
		c.add("warmup.thermal_floor_seconds", "must not be negative, got %g", w.ThermalFloorSeconds)
	}
	if w.CVThreshold <= 0 {
		c.add("warmup.cv_threshold", "must be positive, got %g", w.CVThreshold)
	}
	if w.WindowSize < 2 {
		c.add("warmup.window_size", "must be at least 2, got %d", w.WindowSize)
	}
	if w.MinPrompts < 1 {
		c.add("warmup.min_prompts", "must be at least 1, got %d", w.MinPrompts)
	}
	if w.MaxPrompts < w.MinPrompts {
		c.add("warmup.max_prompts", "must be at least min_prompts (%d), got %d", w.MinPrompts, w.MaxPrompts)
	}
}

func checkPyTorch(c *checker, p *PyTorchConfig) {
	if p == nil {
		return
	}
	c.positive("pytorch.batch_size", p.BatchSize)
	c.positive("pytorch.num_processes", p.NumProcesses)
	if p.NumProcesses != nil && *p.NumProcesses > 1 {
		c.add("pytorch.num_processes", "%d processes need a launcher (accelerate/torchrun) that llem's pytorch worker does not provide; use device_map or tp_plan to spread one model over GPUs, or the vllm backend", *p.NumProcesses)
	}
	c.positive("pytorch.tp_size", p.TPSize)
	if p.PromptLookupNumTokens != nil && *p.PromptLookupNumTokens < 1 {
		c.add("pytorch.prompt_lookup_num_tokens", "must be at least 1, got %d", *p.PromptLookupNumTokens)
	}
	on := func(b *bool) bool { return b != nil && *b }
	if on(p.LoadIn4bit) && on(p.LoadIn8bit) {
		c.add("pytorch.load_in_4bit", "load_in_4bit and load_in_8bit are mutually exclusive")
	}
	if p.Bnb4bitQuantType != nil && !on(p.LoadIn4bit) {
		c.add("pytorch.bnb_4bit_quant_type", "only applies with load_in_4bit: true")
	}
	if on(p.RandomInit) && (on(p.LoadIn4bit) || on(p.LoadIn8bit)) {
		c.add("pytorch.random_init", "cannot be combined with load_in_4bit/load_in_8bit (bitsandbytes quantises while loading real weights); use torchao_quant_type")
	}
	if p.TorchaoQuantType != nil && (on(p.LoadIn4bit) || on(p.LoadIn8bit)) {
		c.add("pytorch.torchao_quant_type", "torchao and bitsandbytes quantisation (load_in_4bit/load_in_8bit) are mutually exclusive")
	}
	if g := p.TorchaoGroupSize; g != nil {
		switch {
		case p.TorchaoQuantType == nil || *p.TorchaoQuantType != "int4_weight_only":
			c.add("pytorch.torchao_group_size", "only applies with torchao_quant_type: int4_weight_only")
		case *g != 32 && *g != 64 && *g != 128 && *g != 256:
			c.add("pytorch.torchao_group_size", "must be 32, 64, 128 or 256, got %d", *g)
		}
	}
	if p.TorchCompileMode != nil && !on(p.TorchCompile) {
		c.add("pytorch.torch_compile_mode", "only applies with torch_compile: true")
	}
	if p.CacheImplementation != nil && p.UseCache != nil && !*p.UseCache {
		c.add("pytorch.cache_implementation", "needs use_cache: true")
	}
}

func checkVLLM(c *checker, v *VLLMConfig) {
	if v == nil {
		return
	}
	c.positive("vllm.max_num_seqs", v.MaxNumSeqs)
	c.positive("vllm.tensor_parallel_size", v.TensorParallelSize)
	c.positive("vllm.block_size", v.BlockSize)
	c.positive("vllm.max_model_len", v.MaxModelLen)
	c.positive("vllm.max_num_batched_tokens", v.MaxNumBatchedTokens)
	if g := v.GPUMemoryUtilization; g != nil && (*g <= 0 || *g > 1) {
		c.add("vllm.gpu_memory_utilization", "must be in (0, 1], got %g", *g)
	}
	if v.MaxNumBatchedTokens != nil && v.MaxModelLen != nil && *v.MaxNumBatchedTokens < *v.MaxModelLen {
		c.add("vllm.max_num_batched_tokens", "must be at least max_model_len (%d), got %d", *v.MaxModelLen, *v.MaxNumBatchedTokens)
	}
}

func checkTensorRT(c *checker, t *TensorRTConfig) {
	if t == nil {
		return
	}
	c.positive("tensorrt.max_batch_size", t.MaxBatchSize)
	c.positive("tensorrt.tp_size", t.TPSize)
	c.positive("tensorrt.pp_size", t.PPSize)
	c.positive("tensorrt.max_seq_len", t.MaxSeqLen)
	c.positive("tensorrt.max_input_len", t.MaxInputLen)
	if o := t.BuilderOptLevel; o != nil && (*o < 0 || *o > 5) {
		c.add("tensorrt.builder_opt_level", "must be between 0 and 5, got %d", *o)
	}
	if t.MaxInputLen != nil && t.MaxSeqLen != nil && *t.MaxInputLen > *t.MaxSeqLen {
		c.add("tensorrt.max_input_len", "must not exceed max_seq_len (%d), got %d", *t.MaxSeqLen, *t.MaxInputLen)
	}
}

func checkOpenAI(c *checker, o *OpenAIConfig) {
	if o == nil {
		return
	}
	c.positive("openai.concurrency", o.Concurrency)
	if r := o.RequestRate; r != nil && *r <= 0 {
		c.add("openai.request_rate", "must be positive (requests/s), got %g", *r)
	}
	if t := o.RequestTimeoutSecond; t != nil && *t <= 0 {
		c.add("openai.request_timeout_seconds", "must be positive, got %g", *t)
	}
	if o.HealthURL != nil && len(o.ServerCommand) == 0 {
		c.add("openai.health_url", "only applies with server_command (it is polled until the server llem started answers); remove it")
	}
	if o.BaseURL != "" && !strings.HasPrefix(o.BaseURL, "http://") && !strings.HasPrefix(o.BaseURL, "https://") {
		c.add("openai.base_url", "must start with http:// or https://, got %q", o.BaseURL)
	}
}

// validateExecution checks a study's execution block.
func validateExecution(ex *Execution) []problem {
	c := &checker{}
	if ex.NCycles < 1 {
		c.add("execution.n_cycles", "must be at least 1, got %d", ex.NCycles)
	}
	c.oneOf("execution.cycle_order", string(ex.CycleOrder), CycleOrderNames())
	for _, g := range []struct {
		name string
		v    *float64
	}{{"execution.config_gap_seconds", ex.ConfigGapSeconds}, {"execution.cycle_gap_seconds", ex.CycleGapSeconds}} {
		if g.v != nil && *g.v < 0 {
			c.add(g.name, "must not be negative, got %g", *g.v)
		}
	}
	c.oneOf("execution.gap_mode", ex.GapMode, []string{"fixed", "temperature"})
	if ex.GapMode == "temperature" {
		if ex.TemperatureBandC <= 0 {
			c.add("execution.temperature_band_c", "must be positive with gap_mode temperature, got %g", ex.TemperatureBandC)
		}
		if ex.MaxGapSeconds <= 0 {
			c.add("execution.max_gap_seconds", "must be positive with gap_mode temperature, got %g", ex.MaxGapSeconds)
		}
	}
	if ex.ExperimentTimeoutSeconds <= 0 {
		c.add("execution.experiment_timeout_seconds", "must be positive, got %g", ex.ExperimentTimeoutSeconds)
	}
	if ex.MaxConsecutiveFailures < 0 {
		c.add("execution.max_consecutive_failures", "must not be negative, got %d", ex.MaxConsecutiveFailures)
	}
	if ex.CircuitCooldownSeconds < 0 {
		c.add("execution.circuit_cooldown_seconds", "must not be negative, got %g", ex.CircuitCooldownSeconds)
	}
	if ex.WallClockTimeoutHours < 0 {
		c.add("execution.wall_clock_timeout_hours", "must not be negative, got %g", ex.WallClockTimeoutHours)
	}
	return c.probs
}
