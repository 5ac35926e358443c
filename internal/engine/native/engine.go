package native

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/engine"
)

// Version is the native engine's version, recorded in results.
const Version = "0.1.0"

// prefillChunk bounds the number of prompt tokens in one forward pass.
const prefillChunk = 256

// llamaUbatch is llama.cpp's default ubatch (n_ubatch): it evaluates a
// prompt in ubatches of this many tokens.
const llamaUbatch = 512

// llamaUbatchLen is the number of tokens of the ubatch in which llama.cpp
// evaluates prompt position pos of an n-token prompt.
func llamaUbatchLen(pos, n int) int { return min(llamaUbatch, n-pos/llamaUbatch*llamaUbatch) }

// Engine is llem's native Go CPU engine. Create it with New; Load then
// Generate; it is not safe for concurrent use.
type Engine struct {
	model     *Model
	run       *runner
	batchSize int
}

var (
	_ engine.Engine            = (*Engine)(nil)
	_ engine.TokenizerProvider = (*Engine)(nil)
	_ engine.Tokenizer         = (*Tokenizer)(nil)
)

// New returns an unloaded native engine.
func New() *Engine { return &Engine{} }

// Load builds a synthetic model when cfg.Model names a shape (see Shapes),
// or loads a GGUF file otherwise.
func (e *Engine) Load(ctx context.Context, cfg config.ExperimentConfig) (engine.LoadInfo, error) {
	if err := ctx.Err(); err != nil {
		return engine.LoadInfo{}, err
	}
	if e.model != nil {
		return engine.LoadInfo{}, errors.New("native engine already loaded; Close it first")
	}
	nc := config.NativeConfig{}
	if cfg.Native != nil {
		nc = *cfg.Native
	}
	threads := runtime.NumCPU()
	if nc.Threads != nil {
		if *nc.Threads < 1 {
			return engine.LoadInfo{}, fmt.Errorf("native.threads must be at least 1, got %d", *nc.Threads)
		}
		threads = *nc.Threads
	}
	e.batchSize = 1
	if nc.BatchSize != nil {
		if *nc.BatchSize < 1 {
			return engine.LoadInfo{}, fmt.Errorf("native.batch_size must be at least 1, got %d", *nc.BatchSize)
		}
		e.batchSize = *nc.BatchSize
	}
	kreq := KernelsAuto
	if nc.Kernels != nil && *nc.Kernels != "" {
		kreq = *nc.Kernels
	}
	kern, err := selectKernels(kreq)
	if err != nil {
		return engine.LoadInfo{}, err
	}
	info := engine.LoadInfo{
		ModelName: cfg.Model, Device: "cpu", ExactOutputLength: true, FLOPsMethod: FLOPsMethod,
		Versions: map[string]string{"native": Version, "go": runtime.Version()},
	}
	eff := map[string]any{"threads": threads, "batch_size": e.batchSize, "kernels": kern.name, "kernels_requested": kreq}
	var m *Model
	if _, ok := LookupShape(cfg.Model); ok {
		seed := DefaultWeightsSeed
		if nc.WeightsSeed != nil {
			seed = *nc.WeightsSeed
		}
		typ, err := precisionType(cfg.Precision)
		if err != nil {
			return engine.LoadInfo{}, err
		}
		if m, err = SynthModel(cfg.Model, seed, typ, threads); err != nil {
			return engine.LoadInfo{}, err
		}
		info.Weights = "synthetic"
		eff["weights_seed"] = seed
	} else {
		if _, statErr := os.Stat(cfg.Model); statErr != nil {
			return engine.LoadInfo{}, fmt.Errorf("native model %q is neither a synthetic shape (%s) nor a readable GGUF file: %w", cfg.Model, strings.Join(Shapes(), ", "), statErr)
		}
		if m, err = LoadGGUF(cfg.Model); err != nil {
			return engine.LoadInfo{}, err
		}
		info.Weights = "gguf"
		if p := cfg.Precision; p != "" && p != "auto" {
			info.Warnings = append(info.Warnings, fmt.Sprintf("precision %q ignored: a GGUF model runs in its own tensor types", p))
		}
	}
	e.model = m
	e.run = newRunner(m, kern, threads)
	info.Parameters = m.Shape.Parameters()
	info.FLOPsPerToken = m.Shape.FLOPsPerToken()
	eff["tensor_types"] = m.TensorTypes()
	eff["architecture"] = m.Arch
	eff["context_length"] = m.Shape.Context
	eff["tokenizer"] = m.Tok.model
	info.Effective = eff
	return info, nil
}

// precisionType maps an experiment precision to the synthetic weights'
// tensor type: unset or auto is F32, else a type name from WritableTypes.
func precisionType(p string) (GGMLType, error) {
	if p == "" || p == "auto" {
		return TypeF32, nil
	}
	t, err := ParseGGMLType(p)
	if err != nil {
		return 0, &engine.ErrUnsupported{What: fmt.Sprintf("precision %q in the native engine (%s)", p, strings.Join(WritableTypes, ", "))}
	}
	return t, nil
}

// Tokenizer returns the loaded model's tokenizer, nil before Load.
func (e *Engine) Tokenizer() engine.Tokenizer {
	if e.model == nil {
		return nil
	}
	return e.model.Tok
}

// Close releases the model.
func (e *Engine) Close() error {
	if e.model == nil {
		return nil
	}
	e.run.close()
	err := e.model.Close()
	e.model, e.run = nil, nil
	return err
}

// Generate runs the prompts in groups of at most batch_size, each group
// advancing together one token per forward pass.
func (e *Engine) Generate(ctx context.Context, batch []engine.Prompt, p engine.GenParams) ([]engine.Completion, error) {
	if e.model == nil {
		return nil, errors.New("native engine: Generate before Load")
	}
	out := make([]engine.Completion, 0, len(batch))
	for lo := 0; lo < len(batch); lo += e.batchSize {
		c, err := e.generate(ctx, batch[lo:min(lo+e.batchSize, len(batch))], p)
		if err != nil {
			return nil, err
		}
		out = append(out, c...)
	}
	return out, nil
}

// seqState is one sequence being generated.
type seqState struct {
	ctx     []int // BOS + prompt + generated
	maxNew  int
	samp    *sampler
	comp    *engine.Completion
	done    bool
	textBuf strings.Builder
}

func (e *Engine) generate(ctx context.Context, batch []engine.Prompt, p engine.GenParams) ([]engine.Completion, error) {
	m, tok := e.model, e.model.Tok
	comps := make([]engine.Completion, len(batch))
	seqs := make([]*seqState, len(batch))
	caches := make([]*kvCache, len(batch))
	start := time.Now()
	for i, pr := range batch {
		ids := pr.Tokens
		if ids == nil {
			ids = tok.Encode(pr.Text)
		}
		for _, id := range ids {
			if id < 0 || id >= m.Shape.Vocab {
				return nil, fmt.Errorf("prompt %q: token id %d outside vocabulary (%d)", pr.ID, id, m.Shape.Vocab)
			}
		}
		var c []int
		if b := tok.BOS(); b >= 0 {
			c = append(c, b)
		}
		c = append(c, ids...)
		if len(c) == 0 {
			return nil, fmt.Errorf("prompt %q is empty and the model has no BOS token", pr.ID)
		}
		maxNew := p.MaxNewTokens
		if pr.MaxNewTokens > 0 {
			maxNew = pr.MaxNewTokens
		}
		if maxNew < 1 {
			return nil, fmt.Errorf("prompt %q: max_new_tokens must be at least 1, got %d", pr.ID, maxNew)
		}
		if need := len(c) + maxNew; need > m.Shape.Context {
			return nil, fmt.Errorf("prompt %q: %d prompt tokens + %d new tokens exceed the model's context of %d", pr.ID, len(c), maxNew, m.Shape.Context)
		}
		h := fnv.New64a()
		fmt.Fprintf(h, "%d\x00%s", p.Seed, pr.ID)
		samp, err := newSampler(p, h.Sum64())
		if err != nil {
			return nil, err
		}
		samp.argmax = e.run.k.argmax
		for _, id := range c {
			samp.observe(id)
		}
		c = slices.Grow(c, maxNew) // decode appends without reallocating
		comps[i] = engine.Completion{PromptID: pr.ID, PromptTokens: len(ids), Start: start,
			TokenIDs: make([]int, 0, maxNew), TokenTimes: make([]time.Duration, 0, maxNew)}
		seqs[i] = &seqState{ctx: c, maxNew: maxNew, samp: samp, comp: &comps[i]}
		caches[i] = newKVCache(m.Shape, len(c)+maxNew)
	}

	// Prefill: all prompts' tokens, in chunks, logits for each last token.
	var steps []step
	var owners []int
	flush := func() error {
		if len(steps) == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		logits := e.run.forward(steps, caches)
		for j, i := range owners {
			e.accept(seqs[i], logits[j*m.Shape.Vocab:(j+1)*m.Shape.Vocab], p, start)
		}
		steps, owners = steps[:0], owners[:0]
		return nil
	}
	for i, s := range seqs {
		n := len(s.ctx)
		for pos, id := range s.ctx {
			last := pos == n-1
			steps = append(steps, step{seq: i, pos: pos, tok: id, logits: last, gemm: pos < n-n%4, ubatch: llamaUbatchLen(pos, n) >= 2})
			if last {
				owners = append(owners, i)
			}
			if len(steps) == prefillChunk {
				if err := flush(); err != nil {
					return nil, err
				}
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	// Decode: every unfinished sequence advances by one token per pass.
	for {
		for i, s := range seqs {
			if !s.done {
				steps = append(steps, step{seq: i, pos: len(s.ctx) - 1, tok: s.ctx[len(s.ctx)-1], logits: true})
				owners = append(owners, i)
			}
		}
		if len(steps) == 0 {
			break
		}
		if err := flush(); err != nil {
			return nil, err
		}
	}
	for _, s := range seqs {
		s.comp.OutputTokens = len(s.comp.TokenIDs)
		s.comp.Text = s.textBuf.String()
	}
	return comps, nil
}

// accept samples a sequence's next token from its logits and records it.
func (e *Engine) accept(s *seqState, logits []float32, p engine.GenParams, start time.Time) {
	tok := e.model.Tok
	n := len(s.comp.TokenIDs)
	banned := -1
	if eos := tok.EOS(); eos >= 0 && n < p.MinNewTokens {
		banned = eos
	}
	id := s.samp.next(logits, banned)
	now := time.Since(start)
	s.samp.observe(id)
	s.ctx = append(s.ctx, id)
	s.comp.TokenIDs = append(s.comp.TokenIDs, id)
	s.comp.TokenTimes = append(s.comp.TokenTimes, now)
	s.comp.End = now
	s.textBuf.WriteString(tok.pieceText(id))
	switch {
	case tok.isEOG(id) && !p.IgnoreEOS:
		s.done, s.comp.FinishReason = true, "eos"
	case n+1 >= s.maxNew:
		s.done, s.comp.FinishReason = true, "length"
	case hasStop(s.textBuf.String(), p.StopSequences) && n+1 >= p.MinNewTokens:
		s.done, s.comp.FinishReason = true, "stop"
	}
}

func hasStop(text string, stops []string) bool {
	for _, st := range stops {
		if st != "" && strings.Contains(text, st) {
			return true
		}
	}
	return false
}
