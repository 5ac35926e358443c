package config

// Backend names an inference engine llem can drive.
type Backend string

// The backends llem knows. Capabilities per backend (precisions, decoding
// strategies, LoRA, batch knob) live in capabilities.go, in one place.
const (
	BackendPyTorch  Backend = "pytorch"
	BackendVLLM     Backend = "vllm"
	BackendTensorRT Backend = "tensorrt"
	BackendNative   Backend = "native"
	BackendOpenAI   Backend = "openai"
)

// ExperimentConfig is one measurement point: everything that determines what
// is measured. Carbon context, output paths and machine-local settings are
// deliberately absent (they live in UserConfig) so they never enter
// MeasurementConfigHash.
//
// Pointer fields distinguish "unset" (the engine's own default, resolved at
// run time and recorded in the result) from an explicit value.
type ExperimentConfig struct {
	// Model is a Hugging Face id or local path; for the native backend a GGUF
	// path or a synthetic shape name (tiny, stories15M, smollm-135m, llama-3.2-1b).
	Model string `json:"model" yaml:"model" jsonschema:"description=Hugging Face id or local path; for native a GGUF path or a synthetic shape name"`
	// Backend is the inference engine: pytorch, vllm, tensorrt, native (built in) or openai (a server).
	Backend Backend `json:"backend" yaml:"backend" jsonschema:"enum=pytorch,enum=vllm,enum=tensorrt,enum=native,enum=openai"`
	// ModelSHA256 is the SHA-256 of the model when Model names a file (a
	// GGUF), filled by Load so that the file's content, not only its path,
	// is part of the experiment's identity.
	ModelSHA256 string `json:"model_sha256,omitempty" yaml:"-"`
	// Precision is fp32, fp16, bf16, int8, fp8 or int4. For native, empty or
	// "auto" means the GGUF's own tensor types.
	Precision string `json:"precision,omitempty" yaml:"precision,omitempty"`

	// Dataset is the prompt source.
	Dataset DatasetConfig `json:"dataset" yaml:"dataset"`
	// N is the number of prompts measured.
	N int `json:"n" yaml:"n"`
	// MaxInputTokens truncates prompts to this many tokens; 0 means no limit.
	MaxInputTokens int `json:"max_input_tokens,omitempty" yaml:"max_input_tokens,omitempty"`
	// MaxOutputTokens caps generated tokens per prompt; 0 means the dataset's output length.
	MaxOutputTokens int `json:"max_output_tokens,omitempty" yaml:"max_output_tokens,omitempty"`
	// RandomSeed seeds sampling and any randomness of the engine.
	RandomSeed int64 `json:"random_seed" yaml:"random_seed"`

	// Decoder holds the decoding settings.
	Decoder DecoderConfig `json:"decoder" yaml:"decoder"`
	// Warmup controls the runs before measurement.
	Warmup WarmupConfig `json:"warmup" yaml:"warmup"`
	// Baseline controls the idle-power measurement.
	Baseline BaselineConfig `json:"baseline" yaml:"baseline"`
	// LoRA names an adapter to apply; its fields are part of the hash.
	LoRA *LoRAConfig `json:"lora,omitempty" yaml:"lora,omitempty"`

	// PassthroughKwargs are handed to the engine untouched; they enter the hash.
	PassthroughKwargs map[string]any `json:"passthrough_kwargs,omitempty" yaml:"passthrough_kwargs,omitempty"`

	// GPU sets the card's power limit and locked clocks through NVML for
	// the run (baseline included) and puts the previous values back after it.
	GPU *GPUConfig `json:"gpu,omitempty" yaml:"gpu,omitempty"`

	// PyTorch holds Hugging Face transformers knobs (backend pytorch only).
	PyTorch *PyTorchConfig `json:"pytorch,omitempty" yaml:"pytorch,omitempty"`
	// VLLM holds vLLM knobs (backend vllm only).
	VLLM *VLLMConfig `json:"vllm,omitempty" yaml:"vllm,omitempty"`
	// TensorRT holds TensorRT-LLM knobs (backend tensorrt only).
	TensorRT *TensorRTConfig `json:"tensorrt,omitempty" yaml:"tensorrt,omitempty"`
	// Native holds the built-in engine's knobs (backend native only).
	Native *NativeConfig `json:"native,omitempty" yaml:"native,omitempty"`
	// OpenAI describes the server and load (backend openai only).
	OpenAI *OpenAIConfig `json:"openai,omitempty" yaml:"openai,omitempty"`
}

// DatasetConfig says which prompts are measured. In YAML it is either a name
// or path (`dataset: aienergyscore`, `dataset: prompts.jsonl`) or a mapping.
type DatasetConfig struct {
	// Name is synthetic (default), builtin, aienergyscore, jsonl or sharegpt.
	Name string `json:"name" yaml:"name" jsonschema:"enum=synthetic,enum=builtin,enum=aienergyscore,enum=jsonl,enum=sharegpt"`
	// Path of a jsonl or sharegpt file, relative to the config file.
	Path string `json:"path,omitempty" yaml:"path,omitempty"`
	// Revision pins a Hub dataset (aienergyscore); empty means llem's pinned one.
	Revision string `json:"revision,omitempty" yaml:"revision,omitempty"`
	// N is the size of the prompt pool; the experiment's n must not exceed it.
	N int `json:"n,omitempty" yaml:"n,omitempty"`
	// InputLen and OutputLen are token counts for synthetic prompts.
	InputLen int `json:"input_len,omitempty" yaml:"input_len,omitempty"`
	// OutputLen is the number of tokens generated per synthetic prompt.
	OutputLen int `json:"output_len,omitempty" yaml:"output_len,omitempty"`
	// InputLenDist, when set, draws each prompt's input length instead of
	// using the fixed InputLen.
	InputLenDist *LengthDist `json:"input_len_dist,omitempty" yaml:"input_len_dist,omitempty"`
	// OutputLenDist, when set, draws each prompt's output length instead of
	// using the fixed OutputLen.
	OutputLenDist *LengthDist `json:"output_len_dist,omitempty" yaml:"output_len_dist,omitempty"`
	// Seed drives prompt generation, sampling of lengths and shuffled order.
	Seed int64 `json:"seed" yaml:"seed"`
	// Order is interleaved (default), grouped or shuffled.
	Order string `json:"order,omitempty" yaml:"order,omitempty" jsonschema:"enum=interleaved,enum=grouped,enum=shuffled"`
	// FileSHA256 is the SHA-256 of a jsonl or sharegpt file, filled by
	// Load so that the file's content is part of the experiment's identity.
	FileSHA256 string `json:"file_sha256,omitempty" yaml:"-"`
}

// LengthDist draws token lengths: uniform in [Min, Max], or normal(Mean, Std)
// clamped to [Min, Max].
type LengthDist struct {
	// Kind is uniform or normal.
	Kind string `json:"kind" yaml:"kind" jsonschema:"enum=uniform,enum=normal"`
	// Min is the smallest length drawn (at least 1).
	Min int `json:"min" yaml:"min"`
	// Max is the largest length drawn.
	Max int `json:"max" yaml:"max"`
	// Mean of the normal distribution.
	Mean float64 `json:"mean,omitempty" yaml:"mean,omitempty"`
	// Std is the normal distribution's standard deviation.
	Std float64 `json:"std,omitempty" yaml:"std,omitempty"`
}

// DecoderConfig holds decoding settings.
type DecoderConfig struct {
	// Preset is deterministic, standard, creative or factual; explicit fields win.
	Preset string `json:"preset,omitempty" yaml:"preset,omitempty"`
	// DecodingStrategy is greedy, sampling or beam (per backend: see the capabilities table).
	DecodingStrategy string `json:"decoding_strategy" yaml:"decoding_strategy" jsonschema:"enum=greedy,enum=sampling,enum=beam"`
	// Temperature scales logits when sampling.
	Temperature float64 `json:"temperature" yaml:"temperature"`
	// TopP is the nucleus-sampling probability mass, in (0, 1].
	TopP float64 `json:"top_p" yaml:"top_p"`
	// TopK keeps the k most likely tokens when sampling; 0 means no limit.
	TopK int `json:"top_k,omitempty" yaml:"top_k,omitempty"`
	// RepetitionPenalty above 1 discourages repeated tokens.
	RepetitionPenalty float64 `json:"repetition_penalty" yaml:"repetition_penalty"`
	// NumBeams is the beam width, only with decoding_strategy beam (at least 2).
	NumBeams int `json:"num_beams,omitempty" yaml:"num_beams,omitempty"`
	// MinNewTokens forces at least this many generated tokens.
	MinNewTokens int `json:"min_new_tokens,omitempty" yaml:"min_new_tokens,omitempty"`
	// IgnoreEOS keeps generating past end-of-sequence, so every request produces the same number of tokens.
	IgnoreEOS bool `json:"ignore_eos,omitempty" yaml:"ignore_eos,omitempty"`
	// StopSequences end generation when produced.
	StopSequences []string `json:"stop_sequences,omitempty" yaml:"stop_sequences,omitempty"`
	// SpeculativeDecoding requires DraftModel and vice versa.
	SpeculativeDecoding bool `json:"speculative_decoding,omitempty" yaml:"speculative_decoding,omitempty"`
	// DraftModel is the small model proposing tokens for speculative decoding.
	DraftModel string `json:"draft_model,omitempty" yaml:"draft_model,omitempty"`
}

// WarmupConfig controls warm-up before measurement (MEA-4).
type WarmupConfig struct {
	// Enabled runs warm-up before measuring.
	Enabled bool `json:"enabled" yaml:"enabled"`
	// NWarmup is the number of full-length warm-up runs.
	NWarmup int `json:"n_warmup" yaml:"n_warmup"`
	// ThermalFloorSeconds is the minimum time between warm-up start and
	// measurement start.
	ThermalFloorSeconds float64 `json:"thermal_floor_seconds" yaml:"thermal_floor_seconds"`
	// Convergence switches warm-up to run until the latency CV drops below
	// CVThreshold over WindowSize runs, within [MinPrompts, MaxPrompts].
	Convergence bool `json:"convergence,omitempty" yaml:"convergence,omitempty"`
	// CVThreshold is the latency coefficient of variation that ends convergence warm-up.
	CVThreshold float64 `json:"cv_threshold" yaml:"cv_threshold"`
	// WindowSize is the number of recent warm-up runs the CV is computed over.
	WindowSize int `json:"window_size" yaml:"window_size"`
	// MinPrompts is the fewest warm-up runs in convergence mode.
	MinPrompts int `json:"min_prompts" yaml:"min_prompts"`
	// MaxPrompts is the most warm-up runs in convergence mode.
	MaxPrompts int `json:"max_prompts" yaml:"max_prompts"`
}

// BaselineConfig controls the idle-power measurement before the model loads (MEA-3).
type BaselineConfig struct {
	// Enabled measures idle power before the model loads and reports energy_adjusted_j beside the raw total.
	Enabled bool `json:"enabled" yaml:"enabled"`
	// DurationSeconds is the idle measurement length (5 to 120 s in files); unset in a file means the user config's baseline_duration_seconds.
	DurationSeconds float64 `json:"duration_seconds" yaml:"duration_seconds"`
}

// LoRAConfig names a LoRA adapter: exactly one of AdapterID and AdapterPath.
type LoRAConfig struct {
	// AdapterID is a Hugging Face id of the adapter.
	AdapterID string `json:"adapter_id,omitempty" yaml:"adapter_id,omitempty"`
	// AdapterPath is a local adapter directory.
	AdapterPath string `json:"adapter_path,omitempty" yaml:"adapter_path,omitempty"`
	// MergeWeights false measures adapter overhead; true the deployed (merged) cost.
	MergeWeights bool `json:"merge_weights" yaml:"merge_weights"`
}

// GPUConfig holds the NVIDIA GPU settings a run is measured at: set through
// NVML on every GPU llem measures before the baseline, read back (the run
// is refused if the card did not take them), and restored after the run,
// also after a crash (the study records the original values in its
// manifest first). Setting them needs root; pre-flight checks the
// permission and the card's range. Unset means the card's current
// settings, untouched.
type GPUConfig struct {
	// PowerLimitWatts is the power management limit in watts, within the card's constraints (nvidia-smi -pl).
	PowerLimitWatts *int `json:"power_limit_watts,omitempty" yaml:"power_limit_watts,omitempty" jsonschema:"minimum=1"`
	// SMClockMHz locks the graphics (SM) clock to this frequency in MHz (nvidia-smi -lgc N,N).
	SMClockMHz *int `json:"sm_clock_mhz,omitempty" yaml:"sm_clock_mhz,omitempty" jsonschema:"minimum=1"`
	// MemoryClockMHz locks the memory clock to this frequency in MHz (nvidia-smi -lmc N,N).
	MemoryClockMHz *int `json:"memory_clock_mhz,omitempty" yaml:"memory_clock_mhz,omitempty" jsonschema:"minimum=1"`
}

// IsSet reports whether any GPU setting is given.
func (g *GPUConfig) IsSet() bool {
	return g != nil && (g.PowerLimitWatts != nil || g.SMClockMHz != nil || g.MemoryClockMHz != nil)
}

// SetFields lists the dotted names of the GPU settings given.
func (g *GPUConfig) SetFields() []string {
	if g == nil {
		return nil
	}
	var out []string
	if g.PowerLimitWatts != nil {
		out = append(out, "gpu.power_limit_watts")
	}
	if g.SMClockMHz != nil {
		out = append(out, "gpu.sm_clock_mhz")
	}
	if g.MemoryClockMHz != nil {
		out = append(out, "gpu.memory_clock_mhz")
	}
	return out
}

// PyTorchConfig holds Hugging Face transformers knobs.
type PyTorchConfig struct {
	// BatchSize is the number of prompts per generate call.
	BatchSize *int `json:"batch_size,omitempty" yaml:"batch_size,omitempty"`
	// BatchingStrategy is static (batches of batch_size in dataset order) or dynamic (prompts sorted by input length, longest first, then batched, so batches pad less).
	BatchingStrategy *string `json:"batching_strategy,omitempty" yaml:"batching_strategy,omitempty" jsonschema:"enum=static,enum=dynamic"`
	// AttnImplementation is sdpa, flash_attention_2 or eager.
	AttnImplementation *string `json:"attn_implementation,omitempty" yaml:"attn_implementation,omitempty" jsonschema:"enum=sdpa,enum=flash_attention_2,enum=eager"`
	// TorchCompile compiles the model with torch.compile.
	TorchCompile *bool `json:"torch_compile,omitempty" yaml:"torch_compile,omitempty"`
	// TorchCompileMode is torch.compile's mode (needs torch_compile).
	TorchCompileMode *string `json:"torch_compile_mode,omitempty" yaml:"torch_compile_mode,omitempty"`
	// LoadIn4bit quantises weights to 4 bits with bitsandbytes.
	LoadIn4bit *bool `json:"load_in_4bit,omitempty" yaml:"load_in_4bit,omitempty"`
	// LoadIn8bit quantises weights to 8 bits with bitsandbytes.
	LoadIn8bit *bool `json:"load_in_8bit,omitempty" yaml:"load_in_8bit,omitempty"`
	// Bnb4bitQuantType is nf4 or fp4 (needs load_in_4bit).
	Bnb4bitQuantType *string `json:"bnb_4bit_quant_type,omitempty" yaml:"bnb_4bit_quant_type,omitempty" jsonschema:"enum=nf4,enum=fp4"`
	// TorchaoQuantType quantises linear-layer weights with torchao (needs the torchao package; not with load_in_4bit/8bit).
	TorchaoQuantType *string `json:"torchao_quant_type,omitempty" yaml:"torchao_quant_type,omitempty" jsonschema:"enum=int4_weight_only,enum=int8_weight_only,enum=int8_dynamic_activation_int8_weight,enum=float8_weight_only,enum=float8_dynamic_activation_float8_weight"`
	// TorchaoGroupSize is the int4_weight_only group size (32, 64, 128 or 256; torchao default 128).
	TorchaoGroupSize *int `json:"torchao_group_size,omitempty" yaml:"torchao_group_size,omitempty" jsonschema:"enum=32,enum=64,enum=128,enum=256"`
	// UseCache turns the KV cache on or off.
	UseCache *bool `json:"use_cache,omitempty" yaml:"use_cache,omitempty"`
	// CacheImplementation selects the KV cache kind (needs use_cache).
	CacheImplementation *string `json:"cache_implementation,omitempty" yaml:"cache_implementation,omitempty" jsonschema:"enum=static,enum=offloaded_static,enum=sliding_window"`
	// PromptLookupNumTokens enables prompt-lookup decoding with this many tokens.
	PromptLookupNumTokens *int `json:"prompt_lookup_num_tokens,omitempty" yaml:"prompt_lookup_num_tokens,omitempty"`
	// DeviceMap is the transformers device_map (e.g. auto).
	DeviceMap *string `json:"device_map,omitempty" yaml:"device_map,omitempty"`
	// TPPlan is the transformers tensor-parallel plan (e.g. auto).
	TPPlan *string `json:"tp_plan,omitempty" yaml:"tp_plan,omitempty"`
	// TPSize is the tensor-parallel degree.
	TPSize *int `json:"tp_size,omitempty" yaml:"tp_size,omitempty"`
	// NumProcesses is the number of processes (data parallel); llem's worker runs one (use device_map, tp_plan or the vllm backend for more GPUs).
	NumProcesses *int `json:"num_processes,omitempty" yaml:"num_processes,omitempty"`
	// RandomInit builds the model from its config with random weights (no
	// weight download), like optimum-benchmark's no_weights.
	RandomInit *bool `json:"random_init,omitempty" yaml:"random_init,omitempty"`
}

// VLLMConfig holds vLLM offline-engine knobs.
type VLLMConfig struct {
	// MaxNumSeqs is the most sequences batched at once (vLLM default 256).
	MaxNumSeqs *int `json:"max_num_seqs,omitempty" yaml:"max_num_seqs,omitempty"`
	// TensorParallelSize is the number of GPUs the model is split over.
	TensorParallelSize *int `json:"tensor_parallel_size,omitempty" yaml:"tensor_parallel_size,omitempty"`
	// GPUMemoryUtilization is the share of GPU memory vLLM may take, in (0, 1].
	GPUMemoryUtilization *float64 `json:"gpu_memory_utilization,omitempty" yaml:"gpu_memory_utilization,omitempty"`
	// EnablePrefixCaching reuses KV cache across shared prompt prefixes.
	EnablePrefixCaching *bool `json:"enable_prefix_caching,omitempty" yaml:"enable_prefix_caching,omitempty"`
	// BlockSize is the KV cache block size in tokens.
	BlockSize *int `json:"block_size,omitempty" yaml:"block_size,omitempty"`
	// Quantization is awq, gptq or fp8.
	Quantization *string `json:"quantization,omitempty" yaml:"quantization,omitempty" jsonschema:"enum=awq,enum=gptq,enum=fp8"`
	// EnforceEager disables CUDA graphs.
	EnforceEager *bool `json:"enforce_eager,omitempty" yaml:"enforce_eager,omitempty"`
	// EnableChunkedPrefill splits long prefills into chunks.
	EnableChunkedPrefill *bool `json:"enable_chunked_prefill,omitempty" yaml:"enable_chunked_prefill,omitempty"`
	// MaxNumBatchedTokens caps tokens per scheduler step (at least max_model_len).
	MaxNumBatchedTokens *int `json:"max_num_batched_tokens,omitempty" yaml:"max_num_batched_tokens,omitempty"`
	// MaxModelLen is the context length.
	MaxModelLen *int `json:"max_model_len,omitempty" yaml:"max_model_len,omitempty"`
	// KVCacheDtype is the KV cache data type (e.g. fp8).
	KVCacheDtype *string `json:"kv_cache_dtype,omitempty" yaml:"kv_cache_dtype,omitempty"`
	// AttentionBackend selects vLLM's attention kernels.
	AttentionBackend *string `json:"attention_backend,omitempty" yaml:"attention_backend,omitempty"`
	// EnableLoRA must be true to apply a lora: adapter.
	EnableLoRA *bool `json:"enable_lora,omitempty" yaml:"enable_lora,omitempty"`
}

// TensorRTConfig holds TensorRT-LLM knobs.
type TensorRTConfig struct {
	// MaxBatchSize is the engine's maximum batch size.
	MaxBatchSize *int `json:"max_batch_size,omitempty" yaml:"max_batch_size,omitempty"`
	// TPSize is the tensor-parallel degree.
	TPSize *int `json:"tp_size,omitempty" yaml:"tp_size,omitempty"`
	// PPSize is the pipeline-parallel degree.
	PPSize *int `json:"pp_size,omitempty" yaml:"pp_size,omitempty"`
	// MaxSeqLen is the engine's maximum sequence length.
	MaxSeqLen *int `json:"max_seq_len,omitempty" yaml:"max_seq_len,omitempty"`
	// MaxInputLen is the engine's maximum input length (at most max_seq_len).
	MaxInputLen *int `json:"max_input_len,omitempty" yaml:"max_input_len,omitempty"`
	// KVCacheType is the KV cache layout (e.g. paged).
	KVCacheType *string `json:"kv_cache_type,omitempty" yaml:"kv_cache_type,omitempty"`
	// Quantization is int8_sq, int4_awq or fp8.
	Quantization *string `json:"quantization,omitempty" yaml:"quantization,omitempty" jsonschema:"enum=int8_sq,enum=int4_awq,enum=fp8"`
	// BuilderOptLevel is the TensorRT builder optimisation level, 0 to 5 (not part of the engine cache key).
	BuilderOptLevel *int `json:"builder_opt_level,omitempty" yaml:"builder_opt_level,omitempty"`
	// EnginePath skips compilation and loads a prebuilt engine.
	EnginePath *string `json:"engine_path,omitempty" yaml:"engine_path,omitempty"`
}

// NativeConfig holds knobs of llem's built-in Go CPU engine.
type NativeConfig struct {
	// BatchSize is the number of sequences decoded together.
	BatchSize *int `json:"batch_size,omitempty" yaml:"batch_size,omitempty"`
	// Threads is the number of worker goroutines; unset means one per core.
	Threads *int `json:"threads,omitempty" yaml:"threads,omitempty"`
	// WeightsSeed seeds synthetic weights when Model is a shape name.
	WeightsSeed *int64 `json:"weights_seed,omitempty" yaml:"weights_seed,omitempty"`
	// Kernels is auto (fastest available), simd or portable.
	Kernels *string `json:"kernels,omitempty" yaml:"kernels,omitempty" jsonschema:"enum=auto,enum=simd,enum=simd-float,enum=portable"`
}

// OpenAIConfig describes an OpenAI-compatible server and the load put on it.
type OpenAIConfig struct {
	// BaseURL is the server's OpenAI-compatible base URL (e.g. http://127.0.0.1:8000/v1); required.
	BaseURL string `json:"base_url,omitempty" yaml:"base_url,omitempty"`
	// APIKeyEnv names the environment variable holding the key; the key
	// itself is never written to config or results.
	APIKeyEnv *string `json:"api_key_env,omitempty" yaml:"api_key_env,omitempty"`
	// Endpoint is completions or chat.
	Endpoint *string `json:"endpoint,omitempty" yaml:"endpoint,omitempty" jsonschema:"enum=completions,enum=chat"`
	// Concurrency is the number of requests kept in flight.
	Concurrency *int `json:"concurrency,omitempty" yaml:"concurrency,omitempty"`
	// RequestRate in requests/s with Poisson arrivals; unset means closed-loop
	// at Concurrency.
	RequestRate *float64 `json:"request_rate,omitempty" yaml:"request_rate,omitempty"`
	// ServerCommand, when set, is started by llem before the run and stopped
	// after it; llem waits for HealthURL (or BaseURL) to answer.
	ServerCommand []string `json:"server_command,omitempty" yaml:"server_command,omitempty"`
	// HealthURL is polled until the server answers; default BaseURL.
	HealthURL *string `json:"health_url,omitempty" yaml:"health_url,omitempty"`
	// RequestTimeoutSecond bounds one request.
	RequestTimeoutSecond *float64 `json:"request_timeout_seconds,omitempty" yaml:"request_timeout_seconds,omitempty"`
}
