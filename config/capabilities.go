package config

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// This file is the one table of what each backend can do. Validation, the
// universal batch_size knob, the JSON Schema and the config reference all
// read it; nothing else lists precisions or strategies per backend.

// LoRASupport says how a backend takes a LoRA adapter.
type LoRASupport int

const (
	// LoRASupported: the backend applies the adapter itself (pytorch via PEFT).
	LoRASupported LoRASupport = iota
	// LoRANeedsFlag: supported once the backend's own switch is on
	// (vllm.enable_lora).
	LoRANeedsFlag
	// LoRAMergeFirst: the adapter must be merged into the model weights
	// before the run (tensorrt builds an engine from fixed weights).
	LoRAMergeFirst
	// LoRAUnsupported: the backend has no way to take an adapter.
	LoRAUnsupported
)

// Capabilities is what one backend accepts.
type Capabilities struct {
	// Precisions accepted in `precision`; "" stands for "the model's own
	// types" where that is accepted.
	Precisions []string
	// DefaultPrecision fills an unset `precision`.
	DefaultPrecision string
	// DecodingStrategies accepted in decoder.decoding_strategy.
	DecodingStrategies []string
	LoRA               LoRASupport
	// BatchField is the dotted field the universal `batch_size` key sets.
	BatchField string
	// Section is the key of the backend's own section.
	Section string
	// SpeculativeDecoding says decoder.speculative_decoding (with a
	// draft_model) is carried out.
	SpeculativeDecoding bool
	// TruncatesPrompts says max_input_tokens can be applied: llem has the
	// backend's tokenizer and cuts prompts before they are sent.
	TruncatesPrompts bool
	// Passthrough says passthrough_kwargs reach an engine (the Python
	// workers hand them to the library's own calls).
	Passthrough bool
	// GPU says the engine runs on this machine's NVIDIA GPUs, so the gpu:
	// settings (power limit, locked clocks) change what is measured (for
	// openai only when llem starts the server: openai.server_command).
	GPU bool
}

// capabilities is read-only after package initialisation.
var capabilities = map[Backend]Capabilities{
	BackendPyTorch: {
		Precisions: []string{"fp32", "fp16", "bf16"}, DefaultPrecision: "bf16",
		DecodingStrategies: []string{"greedy", "sampling", "beam"},
		LoRA:               LoRASupported, BatchField: "pytorch.batch_size", Section: "pytorch",
		SpeculativeDecoding: true, Passthrough: true, GPU: true,
	},
	BackendVLLM: {
		Precisions: []string{"fp16", "bf16", "int8", "int4"}, DefaultPrecision: "bf16",
		DecodingStrategies: []string{"greedy", "sampling", "beam"},
		LoRA:               LoRANeedsFlag, BatchField: "vllm.max_num_seqs", Section: "vllm",
		SpeculativeDecoding: true, Passthrough: true, GPU: true,
	},
	// TensorRT-LLM's table has no bf16, so its default is fp16.
	BackendTensorRT: {
		Precisions: []string{"fp16", "int8", "fp8", "int4"}, DefaultPrecision: "fp16",
		DecodingStrategies: []string{"greedy", "sampling"},
		LoRA:               LoRAMergeFirst, BatchField: "tensorrt.max_batch_size", Section: "tensorrt",
		Passthrough: true, GPU: true,
	},
	// The native engine runs GGUF tensor types: "" (or "auto") keeps the
	// file's own types (F32 for synthetic-weight shapes); a type name
	// builds synthetic weights in that type, as ggml's reference quantisers
	// would (a GGUF file keeps its own types, with a warning).
	BackendNative: {
		Precisions: []string{"", "f32", "f16", "bf16", "q8_0", "q5_1", "q5_0", "q4_1", "q4_0"}, DefaultPrecision: "",
		DecodingStrategies: []string{"greedy", "sampling"},
		LoRA:               LoRAUnsupported, BatchField: "native.batch_size", Section: "native",
		TruncatesPrompts: true,
	},
	// The server decides its own precision; llem cannot change it.
	BackendOpenAI: {
		Precisions: []string{""}, DefaultPrecision: "",
		DecodingStrategies: []string{"greedy", "sampling"},
		LoRA:               LoRAUnsupported, BatchField: "openai.concurrency", Section: "openai",
		GPU: true,
	},
}

// Backends lists the known backends in a fixed order.
func Backends() []Backend {
	return []Backend{BackendPyTorch, BackendVLLM, BackendTensorRT, BackendNative, BackendOpenAI}
}

// BackendNames is Backends as strings, for flag help, completion and
// error messages.
func BackendNames() []string { return names(Backends()) }

func backendNames() []string { return BackendNames() }

// PythonBackends lists the backends that run in a Python worker (and take
// a runner: a local Python or a container image), in a fixed order.
func PythonBackends() []Backend {
	return []Backend{BackendPyTorch, BackendVLLM, BackendTensorRT}
}

// IsPythonBackend reports whether b runs in a Python worker.
func IsPythonBackend(b Backend) bool { return slices.Contains(PythonBackends(), b) }

// CommonPrecisions are the precision names shared across backends, the
// ones flag help and completion offer (AllPrecisions adds each engine's
// own names).
func CommonPrecisions() []string {
	return []string{"fp32", "fp16", "bf16", "int8", "fp8", "int4"}
}

// names converts a list of string-kinded values to strings.
func names[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// CapabilitiesOf returns what backend b accepts, and false for an unknown
// backend. The slices are copies.
func CapabilitiesOf(b Backend) (Capabilities, bool) {
	c, ok := capabilities[b]
	if !ok {
		return Capabilities{}, false
	}
	c.Precisions = slices.Clone(c.Precisions)
	c.DecodingStrategies = slices.Clone(c.DecodingStrategies)
	return c, true
}

// DefaultPrecision is the precision an experiment on backend b gets when it
// sets none: bf16 for pytorch and vllm, fp16 for tensorrt, "" (the model's
// own types) for native and openai.
func DefaultPrecision(b Backend) string { return capabilities[b].DefaultPrecision }

// AllPrecisions is every precision any backend accepts, plus "auto".
func AllPrecisions() []string {
	var out []string
	for _, b := range Backends() {
		for _, p := range capabilities[b].Precisions {
			if p != "" && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return append(out, "auto")
}

// BatchSize returns the batch knob of cfg's backend (pytorch.batch_size,
// vllm.max_num_seqs, tensorrt.max_batch_size, native.batch_size,
// openai.concurrency) and whether it is set.
func BatchSize(cfg ExperimentConfig) (int, bool) {
	var p *int
	switch cfg.Backend {
	case BackendPyTorch:
		if cfg.PyTorch != nil {
			p = cfg.PyTorch.BatchSize
		}
	case BackendVLLM:
		if cfg.VLLM != nil {
			p = cfg.VLLM.MaxNumSeqs
		}
	case BackendTensorRT:
		if cfg.TensorRT != nil {
			p = cfg.TensorRT.MaxBatchSize
		}
	case BackendNative:
		if cfg.Native != nil {
			p = cfg.Native.BatchSize
		}
	case BackendOpenAI:
		if cfg.OpenAI != nil {
			p = cfg.OpenAI.Concurrency
		}
	}
	if p == nil {
		return 0, false
	}
	return *p, true
}

// SetBatchSize sets the batch knob of cfg's backend to n (the universal
// `batch_size` key and the --batch-size flag).
func SetBatchSize(cfg *ExperimentConfig, n int) error {
	if n < 1 {
		return fmt.Errorf("batch size must be at least 1, got %d", n)
	}
	switch cfg.Backend {
	case BackendPyTorch:
		if cfg.PyTorch == nil {
			cfg.PyTorch = &PyTorchConfig{}
		}
		cfg.PyTorch.BatchSize = &n
	case BackendVLLM:
		if cfg.VLLM == nil {
			cfg.VLLM = &VLLMConfig{}
		}
		cfg.VLLM.MaxNumSeqs = &n
	case BackendTensorRT:
		if cfg.TensorRT == nil {
			cfg.TensorRT = &TensorRTConfig{}
		}
		cfg.TensorRT.MaxBatchSize = &n
	case BackendNative:
		if cfg.Native == nil {
			cfg.Native = &NativeConfig{}
		}
		cfg.Native.BatchSize = &n
	case BackendOpenAI:
		if cfg.OpenAI == nil {
			cfg.OpenAI = &OpenAIConfig{}
		}
		cfg.OpenAI.Concurrency = &n
	default:
		return fmt.Errorf("unknown backend %q (known: %s)", cfg.Backend, quoteList(backendNames()))
	}
	return nil
}

// DatasetFromString reads the short form of `dataset:`: a known name
// (synthetic, builtin, aienergyscore) or a file path (.json is ShareGPT,
// anything else JSON lines), with the default seed and order. Other words
// are kept as the name, for validation to reject with the allowed values.
func DatasetFromString(s string) DatasetConfig {
	def := defaultDataset()
	ds := DatasetConfig{Path: s}
	switch s {
	case DatasetSynthetic, DatasetBuiltin, DatasetAIEnergyScore:
		ds = DatasetConfig{Name: s}
	}
	ds = normaliseDatasetName(ds)
	ds.Seed, ds.Order = def.Seed, def.Order
	return ds
}

// normaliseDatasetName infers a missing name: jsonl or sharegpt from the
// path's extension, synthetic when there is no path. A path with another
// extension is kept as a name-less path so validation can say what to do.
func normaliseDatasetName(ds DatasetConfig) DatasetConfig {
	if ds.Name != "" {
		return ds
	}
	ext := strings.ToLower(filepath.Ext(ds.Path))
	switch {
	case ds.Path == "":
		ds.Name = DatasetSynthetic
	case ext == ".json":
		ds.Name = DatasetShareGPT
	case ext == ".jsonl":
		ds.Name = DatasetJSONL
	case !strings.ContainsAny(ds.Path, `/\.`):
		// A bare word that is no known name: keep it as a name so the
		// error lists the allowed ones.
		ds.Name, ds.Path = ds.Path, ""
	default:
		ds.Name = DatasetJSONL
	}
	return ds
}
