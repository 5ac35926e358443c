// Package engine defines the seam between llem's measurement harness and the
// things that run inference: the built-in native Go engine, Python workers
// (transformers, vLLM, TensorRT-LLM) and OpenAI-compatible servers. The
// harness measures every engine the same way through this interface; engines
// never measure energy themselves.
package engine

import (
	"context"
	"time"

	"github.com/llenergymeasure/llem/config"
)

// Engine runs inference for one experiment.
type Engine interface {
	// Load prepares the model described by cfg. It is timed by the harness.
	Load(ctx context.Context, cfg config.ExperimentConfig) (LoadInfo, error)
	// Generate runs one batch to completion. It returns only after the device
	// is idle (CUDA synchronised), so an energy window closed after it holds
	// all of the batch's work.
	Generate(ctx context.Context, batch []Prompt, p GenParams) ([]Completion, error)
	// Close releases the model and any worker process.
	Close() error
}

// Prompt is one request. Text is always set; Tokens, when non-nil, are the
// token ids of Text (BOS excluded) and are fed as they are, so synthetic
// datasets get prompts of an exact token length on the engine's tokenizer.
type Prompt struct {
	ID       string    `json:"id"`
	Text     string    `json:"text"`
	Messages []Message `json:"messages,omitempty"`
	Tokens   []int     `json:"tokens,omitempty"`
	// MaxNewTokens, when > 0, overrides GenParams.MaxNewTokens for this
	// prompt (datasets with per-prompt output lengths).
	MaxNewTokens int `json:"max_new_tokens,omitempty"`
}

// Message is one chat turn.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// GenParams are the decoding settings for a batch.
type GenParams struct {
	MaxNewTokens      int      `json:"max_new_tokens"`
	MinNewTokens      int      `json:"min_new_tokens,omitempty"`
	IgnoreEOS         bool     `json:"ignore_eos,omitempty"`
	Strategy          string   `json:"strategy"` // greedy | sampling | beam
	Temperature       float64  `json:"temperature"`
	TopP              float64  `json:"top_p"`
	TopK              int      `json:"top_k,omitempty"`
	RepetitionPenalty float64  `json:"repetition_penalty"`
	NumBeams          int      `json:"num_beams,omitempty"`
	Seed              int64    `json:"seed"`
	StopSequences     []string `json:"stop_sequences,omitempty"`
}

// Completion is the outcome of one prompt.
type Completion struct {
	PromptID     string `json:"prompt_id"`
	PromptTokens int    `json:"prompt_tokens"`
	OutputTokens int    `json:"output_tokens"`
	Text         string `json:"text,omitempty"`
	TokenIDs     []int  `json:"token_ids,omitempty"`
	// Start is when the request was submitted; TokenTimes are offsets from
	// Start at which each output token became available (TTFT is
	// TokenTimes[0], inter-token latency the differences).
	Start        time.Time       `json:"start"`
	TokenTimes   []time.Duration `json:"token_times,omitempty"`
	End          time.Duration   `json:"end"`
	FinishReason string          `json:"finish_reason,omitempty"` // length | stop | eos
}

// LoadInfo describes what Load loaded, for the result.
type LoadInfo struct {
	ModelName string `json:"model_name"`
	// Weights is "gguf", "synthetic", "hf", "random_init" or "remote".
	Weights    string `json:"weights"`
	Parameters int64  `json:"parameters,omitempty"`
	// FLOPsPerToken is the forward-pass FLOPs per token at zero context,
	// from the model's shape (reference metadata); 0 when unknown.
	FLOPsPerToken float64 `json:"flops_per_token,omitempty"`
	// FLOPsMethod names how FLOPsPerToken was computed.
	FLOPsMethod string `json:"flops_method,omitempty"`
	// Device is "cpu", "cuda:0", "remote", …; GPUIndices the GPUs used.
	Device     string `json:"device"`
	GPUIndices []int  `json:"gpu_indices,omitempty"`
	// PeakFLOPS is the device's peak for MFU, 0 when unknown.
	PeakFLOPS float64 `json:"peak_flops,omitempty"`
	// ExactOutputLength reports whether the engine enforces
	// MinNewTokens/IgnoreEOS, so output lengths are exactly as asked.
	ExactOutputLength bool `json:"exact_output_length"`
	// Effective holds the engine's resolved settings (its own defaults
	// included), recorded in the result.
	Effective map[string]any    `json:"effective,omitempty"`
	Versions  map[string]string `json:"versions,omitempty"`
	Warnings  []string          `json:"warnings,omitempty"`
}

// Tokenizer turns text into token ids and back. Engines that can expose
// their tokenizer implement TokenizerProvider so synthetic datasets can build
// prompts of an exact token length.
type Tokenizer interface {
	// Encode never adds BOS: an engine given Prompt.Text prepends BOS itself
	// when the model wants one, and Prompt.Tokens are fed after that BOS.
	// A prompt's input_len counts the tokens of its text, BOS excluded.
	Encode(text string) []int
	Decode(ids []int) string
	// TokenText is the text of one token id, as Decode([]int{id}) would give.
	TokenText(id int) string
	VocabSize() int
	// BOS is prepended by the engine when it encodes a prompt; -1 if none.
	BOS() int
	EOS() int
}

// TokenizerIdentity is implemented by tokenizers that can name all that
// decides their behaviour (vocabulary, merges or scores, special tokens,
// pre-tokenizer): two with the same Identity encode and decode every text
// alike, so what is derived from one (a synthetic data set's word list)
// serves the other, as the pre-flight's and the loaded engine's do.
type TokenizerIdentity interface {
	Identity() string
}

// TokenizerProvider is implemented by loaded engines that expose their tokenizer.
type TokenizerProvider interface {
	Tokenizer() Tokenizer
}

// ProcessOwner is implemented by loaded engines whose inference runs in
// processes llem started (a Python worker, a local server), so an energy
// estimate from CPU time can count those processes too.
type ProcessOwner interface {
	PIDs() []int
}

// ErrUnsupported wraps errors for configurations an engine cannot run.
type ErrUnsupported struct{ What string }

func (e *ErrUnsupported) Error() string { return "unsupported: " + e.What }

// ModelFacts is what can be known about a model before it is loaded, for
// the pre-flight: whether prompts and outputs fit its context.
type ModelFacts struct {
	// Context is the model's context length in tokens; 0 when unknown.
	Context int
	// ContextFrom says where Context was read (a shape, a GGUF header, a
	// config.json).
	ContextFrom string
	// Tokenizer is the model's own tokenizer when it can be had without
	// loading the weights; nil otherwise.
	Tokenizer Tokenizer
}

// SettingError is a setting an engine refuses before anything loads:
// Field is the dotted config field, Msg says why and what is allowed.
type SettingError struct {
	Field string
	Msg   string
	// Cause is the underlying error, when there is one.
	Cause error
}

func (e *SettingError) Error() string { return e.Field + ": " + e.Msg }

func (e *SettingError) Unwrap() error { return e.Cause }
