package pyworker

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/llenergymeasure/llem/internal/engine"
)

// ProtocolVersion is the version of the JSON-lines protocol this package
// speaks; workers/llem_protocol.py must carry the same number.
const ProtocolVersion = 1

// request is one line llem writes to the worker's stdin.
type request struct {
	ID   int    `json:"id"`
	Op   string `json:"op"`
	Body any    `json:"body"`
}

// reply is one line the worker writes back.
type reply struct {
	ID    int             `json:"id"`
	OK    bool            `json:"ok"`
	Body  json.RawMessage `json:"body"`
	Error *WorkerError    `json:"error"`
}

// helloRequest opens the conversation.
type helloRequest struct {
	Protocol int `json:"protocol"`
}

// Hello is what a worker reports about its environment.
type Hello struct {
	Protocol      int               `json:"protocol"`
	Backend       string            `json:"backend"`
	Python        string            `json:"python"`
	Executable    string            `json:"executable"`
	Versions      map[string]string `json:"versions"`
	Missing       map[string]string `json:"missing"`
	CUDA          string            `json:"cuda"`
	CUDAAvailable bool              `json:"cuda_available"`
	GPUs          []string          `json:"gpus"`
	PID           int               `json:"pid"`
}

// loadRequest asks the worker to load a model.
type loadRequest struct {
	Model     string `json:"model"`
	Precision string `json:"precision"`
	// Options is the backend's section with only the user-set fields.
	Options           map[string]any `json:"options"`
	RandomInit        bool           `json:"random_init"`
	LoRA              any            `json:"lora,omitempty"`
	PassthroughKwargs map[string]any `json:"passthrough_kwargs,omitempty"`
	DraftModel        string         `json:"draft_model,omitempty"`
	Seed              int64          `json:"seed"`
	// EngineDir is where a TensorRT-LLM engine is cached (tensorrt only).
	EngineDir string `json:"engine_dir,omitempty"`
}

// loadReply is what the worker loaded.
type loadReply struct {
	LoadSeconds       float64           `json:"load_seconds"`
	Parameters        int64             `json:"parameters"`
	Weights           string            `json:"weights"`
	Device            string            `json:"device"`
	GPUIndices        []int             `json:"gpu_indices"`
	ExactOutputLength bool              `json:"exact_output_length"`
	Effective         map[string]any    `json:"effective"`
	Versions          map[string]string `json:"versions"`
	Warnings          []string          `json:"warnings"`
}

// generateRequest is one batch.
type generateRequest struct {
	Prompts []engine.Prompt  `json:"prompts"`
	Params  engine.GenParams `json:"params"`
}

// generateReply holds one completion per prompt.
type generateReply struct {
	Completions []wireCompletion `json:"completions"`
}

// wireCompletion carries times in seconds: StartS from the moment the
// worker received the request, TokenTimesS and EndS from the request's
// start.
type wireCompletion struct {
	PromptID     string    `json:"prompt_id"`
	PromptTokens int       `json:"prompt_tokens"`
	OutputTokens int       `json:"output_tokens"`
	Text         string    `json:"text"`
	TokenIDs     []int     `json:"token_ids"`
	StartS       float64   `json:"start_s"`
	TokenTimesS  []float64 `json:"token_times_s"`
	EndS         float64   `json:"end_s"`
	FinishReason string    `json:"finish_reason"`
}

// WorkerError is an exception raised in the worker, with its Python
// traceback.
type WorkerError struct {
	Op        string `json:"-"`
	Type      string `json:"type"`
	Message   string `json:"message"`
	Traceback string `json:"traceback"`
}

func (e *WorkerError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "worker %s failed: %s: %s", e.Op, e.Type, e.Message)
	if tb := strings.TrimSpace(e.Traceback); tb != "" {
		b.WriteString("\nPython traceback:\n")
		b.WriteString(tb)
	}
	return b.String()
}

// ProtocolError reports a line from the worker that breaks the protocol.
type ProtocolError struct {
	Line    int    // 1-based number of the offending line on the worker's stdout
	Text    string // the line, truncated
	Problem string
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("worker protocol error on stdout line %d: %s: %q", e.Line, e.Problem, e.Text)
}

// ExitError reports a worker that ended before answering.
type ExitError struct {
	Op string
	// Exit describes how the process ended ("exit status 3", "signal: killed").
	Exit string
	// StderrTail is the end of the worker's stderr.
	StderrTail string
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("worker exited (%s) during %s", e.Exit, e.Op)
	if t := strings.TrimSpace(e.StderrTail); t != "" {
		msg += "; end of its stderr:\n" + t
	}
	return msg
}
