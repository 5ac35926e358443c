package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/engine"
	"github.com/llenergymeasure/llem/internal/redact"
)

// Defaults for unset openai settings.
const (
	DefaultBaseURL        = "http://127.0.0.1:8000/v1"
	defaultConcurrency    = 1
	defaultRequestTimeout = 600 * time.Second
	serverStartTimeout    = 15 * time.Minute
)

// exactServers are servers known to honour ignore_eos and min_tokens, by
// the owned_by field of their /v1/models answer.
var exactServers = map[string]bool{"vllm": true, "llamacpp": true, "sglang": true}

// Engine drives one OpenAI-compatible server.
type Engine struct {
	client      *http.Client
	baseURL     string
	chat        bool
	model       string
	apiKey      string
	concurrency int
	rate        float64
	timeout     time.Duration
	seed        int64
	server      *server
	// owner names the server ("vllm", "llamacpp", …) once loaded.
	owner string
}

var (
	_ engine.Engine       = (*Engine)(nil)
	_ engine.ProcessOwner = (*Engine)(nil)
)

// noAnswerError is the error for a server that does not answer at all.
type noAnswerError struct{ err error }

func (e noAnswerError) Error() string { return e.err.Error() }
func (e noAnswerError) Unwrap() error { return e.err }

// New returns an unloaded openai engine.
func New() engine.Engine { return &Engine{client: &http.Client{}} }

// Load resolves the settings, starts the server when a server_command is
// given, and checks the server with one short streamed request.
func (e *Engine) Load(ctx context.Context, cfg config.ExperimentConfig) (engine.LoadInfo, error) {
	o := config.OpenAIConfig{}
	if cfg.OpenAI != nil {
		o = *cfg.OpenAI
	}
	e.baseURL = normaliseBaseURL(o.BaseURL)
	e.model = cfg.Model
	e.seed = cfg.RandomSeed
	e.chat = o.Endpoint != nil && *o.Endpoint == "chat"
	e.concurrency = defaultConcurrency
	if o.Concurrency != nil {
		e.concurrency = *o.Concurrency
	}
	if o.RequestRate != nil {
		e.rate = *o.RequestRate
		if o.Concurrency == nil {
			e.concurrency = 0 // open loop: no cap on requests in flight
		}
	}
	e.timeout = defaultRequestTimeout
	if o.RequestTimeoutSecond != nil {
		e.timeout = time.Duration(*o.RequestTimeoutSecond * float64(time.Second))
	}
	if o.APIKeyEnv != nil {
		e.apiKey = os.Getenv(*o.APIKeyEnv)
		if e.apiKey == "" {
			return engine.LoadInfo{}, fmt.Errorf("openai: api_key_env names %s, which is not set", *o.APIKeyEnv)
		}
	}
	health := e.baseURL + "/models"
	if o.HealthURL != nil {
		health = *o.HealthURL
	}
	if len(o.ServerCommand) > 0 {
		sctx, cancel := context.WithTimeout(ctx, serverStartTimeout)
		defer cancel()
		s, err := startServer(sctx, o.ServerCommand, health, e.client)
		if err != nil {
			return engine.LoadInfo{}, err
		}
		e.server = s
	}
	info := engine.LoadInfo{
		ModelName: cfg.Model,
		Weights:   "remote",
		Device:    "remote",
		Effective: map[string]any{
			"base_url":        e.baseURL,
			"endpoint":        map[bool]string{true: "chat", false: "completions"}[e.chat],
			"concurrency":     e.concurrency,
			"request_rate":    e.rate,
			"arrivals":        map[bool]string{true: "poisson", false: "closed_loop"}[e.rate > 0],
			"request_timeout": e.timeout.Seconds(),
			"server_started":  e.server != nil,
			"health_url":      health,
		},
		Versions: map[string]string{},
	}
	if o.APIKeyEnv != nil {
		info.Effective["api_key_env"] = *o.APIKeyEnv // the name, never the key
	}
	owner, err := e.serverOwner(ctx)
	if err != nil {
		e.Close()
		return engine.LoadInfo{}, err
	}
	if !exactServers[owner] {
		if v := e.ollamaVersion(ctx); v != "" {
			owner = "ollama" // Ollama lists its models as owned by their namespace ("library")
			info.Versions["server_version"] = v
		}
	}
	info.Versions["server"] = owner
	e.owner = owner
	if se := serverRefuses(owner, cfg); se != nil {
		e.Close()
		return engine.LoadInfo{}, se
	}
	info.ExactOutputLength = exactServers[owner]
	if !info.ExactOutputLength {
		info.Warnings = append(info.Warnings, fmt.Sprintf("server %q may ignore ignore_eos/min_tokens (vLLM and llama.cpp honour them): output lengths may differ from max_tokens", owner))
	}
	probe, err := e.do(ctx, engine.Prompt{ID: "llem-probe", Text: "Hello"}, engine.GenParams{MaxNewTokens: 2, IgnoreEOS: true})
	if err != nil {
		e.Close()
		return engine.LoadInfo{}, fmt.Errorf("openai: probe request to %s: %w", e.baseURL, err)
	}
	if !probe.usage {
		info.Warnings = append(info.Warnings, "server sent no usage counts (stream_options.include_usage): output tokens are counted as stream chunks with text, one token per chunk assumed")
	}
	return info, nil
}

func normaliseBaseURL(u string) string {
	if u == "" {
		return DefaultBaseURL
	}
	return config.NormaliseBaseURL(u)
}

// serverOwner names the server from the owned_by of the model list
// ("vllm", "llamacpp", …), or "unknown".
func (e *Engine) serverOwner(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.baseURL+"/models", nil)
	if err != nil {
		return "", fmt.Errorf("openai: %w", err)
	}
	e.authorise(req)
	resp, err := e.client.Do(req)
	if err != nil {
		return "", noAnswerError{fmt.Errorf("openai: server at %s does not answer: %w", e.baseURL, err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "unknown", nil
	}
	var list struct {
		Data []struct {
			ID      string `json:"id"`
			OwnedBy string `json:"owned_by"`
		} `json:"data"`
	}
	if json.NewDecoder(resp.Body).Decode(&list) != nil || len(list.Data) == 0 || list.Data[0].OwnedBy == "" {
		return "unknown", nil
	}
	var ids []string
	for _, m := range list.Data {
		if m.ID == e.model || m.ID == e.model+":latest" { // Ollama tags an untagged name latest
			return m.OwnedBy, nil
		}
		ids = append(ids, m.ID)
	}
	// The model is what was asked to be measured: a server that serves
	// another would be measured under a wrong name.
	return "", fmt.Errorf("openai: the server at %s does not serve model %q (it serves: %s); set model to the name it lists", e.baseURL, e.model, strings.Join(ids, ", "))
}

// serverRefuses is the setting a known server would accept and ignore
// for cfg, or nil.
func serverRefuses(owner string, cfg config.ExperimentConfig) *engine.SettingError {
	d := cfg.Decoder
	// A penalty of 0 is unset, as requestBody reads it: nothing is sent.
	if owner == "llamacpp" && d.DecodingStrategy != "sampling" && d.RepetitionPenalty > 0 && d.RepetitionPenalty != 1 {
		return &engine.SettingError{Field: "decoder.repetition_penalty", Msg: "llama.cpp's server applies no penalties under greedy decoding (temperature 0), so the value would be accepted and ignored; use decoding_strategy sampling, or leave the penalty at 1"}
	}
	return nil
}

// ollamaVersion is the version Ollama's native /api/version reports beside
// its OpenAI-compatible API, or "" when the server is not Ollama.
func (e *Engine) ollamaVersion(ctx context.Context) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(e.baseURL, "/v1")+"/api/version", nil)
	if err != nil {
		return ""
	}
	e.authorise(req)
	resp, err := e.client.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var v struct {
		Version string `json:"version"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&v) != nil {
		return ""
	}
	return v.Version
}

func (e *Engine) authorise(req *http.Request) {
	if e.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+e.apiKey)
	}
}

// Generate sends the batch under the load profile: closed loop at the
// configured concurrency, or open loop with Poisson arrivals. The first
// failing request cancels the rest.
func (e *Engine) Generate(ctx context.Context, batch []engine.Prompt, p engine.GenParams) ([]engine.Completion, error) {
	if e.baseURL == "" {
		return nil, errors.New("openai engine: Generate before Load")
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var pacer Pacer
	if e.rate > 0 {
		pacer = NewPoissonPacer(e.rate, len(batch), e.seed)
	}
	var slots chan struct{}
	if e.concurrency > 0 {
		slots = make(chan struct{}, e.concurrency)
	}
	out := make([]engine.Completion, len(batch))
	var wg sync.WaitGroup
	start := time.Now()
send:
	for i := range batch {
		if pacer != nil {
			if wait := pacer.Pace(time.Since(start), i); wait > 0 {
				select {
				case <-time.After(wait):
				case <-ctx.Done():
					break send
				}
			}
		}
		if slots != nil {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				break send
			}
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if slots != nil {
				defer func() { <-slots }()
			}
			r, err := e.do(ctx, batch[i], p)
			if err != nil {
				cancel(fmt.Errorf("openai: request %q: %w", batch[i].ID, err))
				return
			}
			out[i] = r.Completion
		}(i)
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// result is one streamed request.
type result struct {
	engine.Completion
	usage bool // the server sent usage counts
}

// chunk is one streamed event of either endpoint.
type chunk struct {
	Choices []struct {
		Text  string `json:"text"`
		Delta struct {
			Content string `json:"content"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
	// Error is how OpenAI and vLLM report a failure inside a stream.
	Error   json.RawMessage `json:"error"`
	Object  string          `json:"object"`
	Message string          `json:"message"`
}

func (e *Engine) requestBody(pr engine.Prompt, p engine.GenParams) map[string]any {
	n := p.MaxNewTokens
	if pr.MaxNewTokens > 0 {
		n = pr.MaxNewTokens
	}
	body := map[string]any{
		"model":          e.model,
		"max_tokens":     n,
		"stream":         true,
		"stream_options": map[string]any{"include_usage": true},
		"seed":           p.Seed,
	}
	if p.IgnoreEOS {
		body["ignore_eos"] = true
		body["min_tokens"] = n
	} else if p.MinNewTokens > 0 {
		// A prompt's own max_new_tokens may be below the batch's minimum;
		// vLLM refuses min_tokens above max_tokens.
		body["min_tokens"] = min(p.MinNewTokens, n)
	}
	if p.Strategy == "sampling" {
		body["temperature"] = p.Temperature
		body["top_p"] = p.TopP
		if p.TopK > 0 {
			body["top_k"] = p.TopK
		}
	} else {
		body["temperature"] = 0
	}
	if p.RepetitionPenalty > 0 && p.RepetitionPenalty != 1 {
		// vLLM and SGLang take repetition_penalty; llama.cpp's server
		// ignores it and reads repeat_penalty.
		key := "repetition_penalty"
		if e.owner == "llamacpp" {
			key = "repeat_penalty"
		}
		body[key] = p.RepetitionPenalty
	}
	if len(p.StopSequences) > 0 {
		body["stop"] = p.StopSequences
	}
	if e.chat {
		msgs := pr.Messages
		if len(msgs) == 0 {
			msgs = []engine.Message{{Role: "user", Content: pr.Text}}
		}
		body["messages"] = msgs
	} else {
		body["prompt"] = pr.Text
	}
	return body
}

// do sends one streamed request and times its chunks. The API key's value
// is removed from its error: a server may echo the Authorization header
// in an error body, and the error reaches logs, the manifest and reports.
func (e *Engine) do(ctx context.Context, pr engine.Prompt, p engine.GenParams) (result, error) {
	r, err := e.send(ctx, pr, p)
	if err != nil && e.apiKey != "" {
		if msg := redact.New(e.apiKey).String(err.Error()); msg != err.Error() {
			err = redactedError{msg: msg, err: err}
		}
	}
	return r, err
}

// redactedError is an error whose text had a secret removed; errors.Is
// and errors.As still see the original.
type redactedError struct {
	msg string
	err error
}

func (e redactedError) Error() string { return e.msg }
func (e redactedError) Unwrap() error { return e.err }

// send is do without the redaction.
func (e *Engine) send(ctx context.Context, pr engine.Prompt, p engine.GenParams) (result, error) {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	b, err := json.Marshal(e.requestBody(pr, p))
	if err != nil {
		return result{}, err
	}
	path := "/completions"
	if e.chat {
		path = "/chat/completions"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.baseURL+path, bytes.NewReader(b))
	if err != nil {
		return result{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	// Servers (llama.cpp's among them) close idle keep-alive connections;
	// a request that meets a closed one was never read, so net/http may
	// send it again on a new connection. A nil Idempotency-Key allows that
	// retry without sending the header.
	req.Header["Idempotency-Key"] = nil
	e.authorise(req)
	r := result{Completion: engine.Completion{PromptID: pr.ID, Start: time.Now()}}
	resp, err := e.client.Do(req)
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		return result{}, fmt.Errorf("server answered %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	var text strings.Builder
	chunks, done := 0, false
	sse := newSSEReader(resp.Body)
	for !done {
		event, data, err := sse.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return result{}, fmt.Errorf("reading the stream: %w", err)
		}
		now := time.Since(r.Start)
		if string(data) == "[DONE]" {
			done = true
			break
		}
		var c chunk
		if err := json.Unmarshal(data, &c); err != nil {
			return result{}, fmt.Errorf("stream event is not JSON: %q", truncate(string(data), 200))
		}
		if event == "error" || len(c.Error) > 0 && string(c.Error) != "null" || c.Object == "error" {
			return result{}, fmt.Errorf("server reported an error mid-stream after %d chunks: %s", chunks, streamError(c, data))
		}
		for _, ch := range c.Choices {
			t := ch.Text + ch.Delta.Content
			if t != "" {
				chunks++
				text.WriteString(t)
				r.TokenTimes = append(r.TokenTimes, now)
			}
			if ch.FinishReason != nil && *ch.FinishReason != "" {
				r.FinishReason = *ch.FinishReason
			}
		}
		if c.Usage != nil {
			r.usage = true
			r.PromptTokens = c.Usage.PromptTokens
			r.OutputTokens = c.Usage.CompletionTokens
		}
	}
	r.End = time.Since(r.Start)
	if !done && r.FinishReason == "" {
		return result{}, fmt.Errorf("stream ended after %d chunks without a finish reason or [DONE]", chunks)
	}
	if !r.usage {
		r.OutputTokens = chunks
	}
	r.Text = text.String()
	return r, nil
}

func streamError(c chunk, raw []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(c.Error, &e) == nil && e.Message != "" {
		return e.Message
	}
	if c.Message != "" {
		return c.Message
	}
	return truncate(string(raw), 300)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// PIDs is the server llem started, if any.
func (e *Engine) PIDs() []int {
	if e.server == nil || e.server.cmd.Process == nil {
		return nil
	}
	return []int{e.server.cmd.Process.Pid}
}

// Close stops the server llem started, if any.
func (e *Engine) Close() error {
	if e.server == nil {
		return nil
	}
	err := e.server.stop()
	e.server = nil
	return err
}
