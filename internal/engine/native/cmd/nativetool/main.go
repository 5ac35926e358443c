// Command nativetool drives llem's native engine outside the harness, for
// peer comparisons (bench/native/compare-llamacpp.sh; model files come from
// `llem model synth`):
//
//	nativetool greedy --model FILE|SHAPE --n 32 [--threads N] PROMPT...
//	nativetool bench  --model FILE|SHAPE [--threads N] [--batch B] [--n 64] [--pp 0] [--reps 3] [--json] [--kernels auto]
//	nativetool types  --model FILE
//	nativetool roofline --model FILE [--threads N]
//
// greedy prints one JSON object per prompt with the prompt's token ids (BOS
// included) and the greedy output ids; types counts a GGUF file's tensors by
// type.
//
// roofline prints, as one JSON object, the bytes of weights a decode step
// reads (every tensor but the token embeddings, of which a step reads one
// row, unless the output shares them), this machine's streaming read
// bandwidth with N threads (best of 5 passes over 1 GiB), and their
// quotient: the decode tokens/s no engine can pass at batch 1.
//
// bench measures throughput the way llama-bench defines it, load excluded,
// after a warm-up, best of --reps repetitions: tg (decode) is B×n tokens over
// the time of n single-token forward passes of B sequences that start from
// BOS alone (context positions 1…n, as llama-bench's tgN starts from an
// empty context); with --pp N > 0, pp (prefill) is B×N tokens over the time
// to evaluate B prompts of N tokens (BOS plus N−1 ids) up to their first
// output token, as llama-bench's ppN. It prints one line, or with --json one
// object: {"model","threads","batch","kernels","n_gen","n_prompt","tg","pp",
// "tg_samples","pp_samples"} (tokens/s; pp fields absent without --pp).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/engine"
	"github.com/llenergymeasure/llem/internal/engine/native"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "nativetool:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: nativetool greedy|bench|types|roofline [flags]")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	seed := fs.Int64("seed", native.DefaultWeightsSeed, "weights seed")
	model := fs.String("model", "stories15M", "GGUF path or synthetic shape")
	n := fs.Int("n", 32, "new tokens per prompt")
	threads := fs.Int("threads", 1, "threads")
	batch := fs.Int("batch", 1, "batch size (bench)")
	kernels := fs.String("kernels", "auto", "auto, simd, simd-float or portable")
	pp := fs.Int("pp", 0, "bench: also measure prefill of this many prompt tokens (BOS included)")
	reps := fs.Int("reps", 3, "bench: repetitions, best reported")
	asJSON := fs.Bool("json", false, "bench: print one JSON object")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	ctx := context.Background()
	switch args[0] {
	case "types":
		return tensorTypes(*model)
	case "roofline":
		return roofline(*model, max(*threads, 1))
	case "greedy", "bench":
		e := native.New()
		bs := *batch
		if args[0] == "greedy" {
			bs = max(len(fs.Args()), 1)
		}
		cfg := config.ExperimentConfig{Model: *model, Backend: config.BackendNative,
			Native: &config.NativeConfig{Threads: threads, BatchSize: &bs, WeightsSeed: seed, Kernels: kernels}}
		info, err := e.Load(ctx, cfg)
		if err != nil {
			return err
		}
		defer e.Close()
		gp := engine.GenParams{MaxNewTokens: *n, MinNewTokens: *n, IgnoreEOS: true, Strategy: "greedy"}
		if args[0] == "greedy" {
			return greedy(ctx, e, fs.Args(), gp)
		}
		return bench(ctx, e, info, benchOpts{batch: bs, gen: *n, prompt: *pp, reps: *reps, json: *asJSON})
	}
	return fmt.Errorf("unknown subcommand %q", args[0])
}

func greedy(ctx context.Context, e *native.Engine, prompts []string, gp engine.GenParams) error {
	var batch []engine.Prompt
	for i, p := range prompts {
		batch = append(batch, engine.Prompt{ID: fmt.Sprint(i), Text: p})
	}
	comps, err := e.Generate(ctx, batch, gp)
	if err != nil {
		return err
	}
	tok := e.Tokenizer()
	enc := json.NewEncoder(os.Stdout)
	for i, c := range comps {
		ids := tok.Encode(prompts[i])
		if b := tok.BOS(); b >= 0 {
			ids = append([]int{b}, ids...)
		}
		if err := enc.Encode(map[string]any{"prompt": prompts[i], "prompt_ids": ids, "output_ids": c.TokenIDs, "text": c.Text}); err != nil {
			return err
		}
	}
	return nil
}

type benchOpts struct {
	batch, gen, prompt, reps int
	json                     bool
}

// bench measures decode (and, with opts.prompt > 0, prefill) throughput; see
// the package comment for the definitions.
func bench(ctx context.Context, e *native.Engine, info engine.LoadInfo, opts benchOpts) error {
	if opts.gen < 1 || opts.reps < 1 || opts.prompt < 0 {
		return fmt.Errorf("bench: --n and --reps must be at least 1 and --pp at least 0")
	}
	bs := opts.batch
	// tg: each sequence is BOS alone; the first output token comes from the
	// prefill of BOS, the next opts.gen from single-token decode passes.
	genBatch := make([]engine.Prompt, bs)
	for i := range genBatch {
		genBatch[i] = engine.Prompt{ID: fmt.Sprint(i), Tokens: []int{}}
	}
	genParams := engine.GenParams{MaxNewTokens: opts.gen + 1, MinNewTokens: opts.gen + 1, IgnoreEOS: true, Strategy: "greedy"}
	var ppBatch []engine.Prompt
	if opts.prompt > 0 {
		ids, err := promptIDs(e, opts.prompt-1) // the engine prepends BOS
		if err != nil {
			return err
		}
		ppBatch = make([]engine.Prompt, bs)
		for i := range ppBatch {
			ppBatch[i] = engine.Prompt{ID: fmt.Sprint(i), Tokens: ids}
		}
	}
	ppParams := engine.GenParams{MaxNewTokens: 1, MinNewTokens: 1, IgnoreEOS: true, Strategy: "greedy"}
	// Warm-up: page the weights in, start the workers.
	if _, err := e.Generate(ctx, genBatch, engine.GenParams{MaxNewTokens: 4, MinNewTokens: 4, IgnoreEOS: true, Strategy: "greedy"}); err != nil {
		return err
	}
	if ppBatch != nil {
		if _, err := e.Generate(ctx, ppBatch, ppParams); err != nil {
			return err
		}
	}
	var tgs, pps []float64
	for rep := 0; rep < opts.reps; rep++ {
		comps, err := e.Generate(ctx, genBatch, genParams)
		if err != nil {
			return err
		}
		var first, last time.Duration
		for i, c := range comps {
			if len(c.TokenTimes) != opts.gen+1 {
				return fmt.Errorf("bench: sequence %s produced %d tokens, want %d", c.PromptID, len(c.TokenTimes), opts.gen+1)
			}
			if i == 0 || c.TokenTimes[0] > first {
				first = c.TokenTimes[0]
			}
			last = max(last, c.TokenTimes[opts.gen])
		}
		tgs = append(tgs, float64(bs*opts.gen)/(last-first).Seconds())
		if ppBatch == nil {
			continue
		}
		comps, err = e.Generate(ctx, ppBatch, ppParams)
		if err != nil {
			return err
		}
		var prefill time.Duration
		for _, c := range comps {
			prefill = max(prefill, c.TokenTimes[0])
		}
		pps = append(pps, float64(bs*opts.prompt)/prefill.Seconds())
	}
	if opts.json {
		out := map[string]any{"model": info.ModelName, "threads": info.Effective["threads"], "batch": bs,
			"kernels": info.Effective["kernels"], "n_gen": opts.gen, "tg": slices.Max(tgs), "tg_samples": tgs}
		if pps != nil {
			out["n_prompt"], out["pp"], out["pp_samples"] = opts.prompt, slices.Max(pps), pps
		}
		return json.NewEncoder(os.Stdout).Encode(out)
	}
	pl := ""
	if pps != nil {
		pl = fmt.Sprintf(" prefill=%.1f tokens/s (pp%d)", slices.Max(pps), opts.prompt)
	}
	fmt.Printf("llem native: model=%s threads=%v batch=%d kernels=%v decode=%.1f tokens/s (tg%d)%s (best of %d, %s)\n",
		info.ModelName, info.Effective["threads"], bs, info.Effective["kernels"], slices.Max(tgs), opts.gen, pl, opts.reps,
		time.Now().UTC().Format(time.RFC3339))
	return nil
}

// promptIDs returns n token ids of ordinary text (no BOS), for prefill.
func promptIDs(e *native.Engine, n int) ([]int, error) {
	tok := e.Tokenizer()
	var ids []int
	for len(ids) < n {
		more := tok.Encode(" Once upon a time there was a little fox who lived in the forest near the river.")
		if len(more) == 0 {
			return nil, fmt.Errorf("bench: the tokenizer encodes no ids")
		}
		ids = append(ids, more...)
	}
	return ids[:n], nil
}

// tensorTypes prints how many tensors of each type a GGUF file holds.
func tensorTypes(path string) error {
	g, err := native.OpenGGUF(path)
	if err != nil {
		return err
	}
	defer g.Close()
	count := map[string]int{}
	for _, t := range g.Tensors {
		count[t.Type.String()]++
	}
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(count)) {
		parts = append(parts, fmt.Sprintf("%s ×%d", name, count[name]))
	}
	fmt.Println("tensor types:", strings.Join(parts, ", "))
	return nil
}

// roofline prints the decode bandwidth limit of a GGUF file (see the
// package comment).
func roofline(path string, threads int) error {
	perToken, err := decodeBytes(path)
	if err != nil {
		return err
	}
	bw := readBandwidth(1<<30, threads, 5)
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"model": path, "threads": threads, "bytes_per_token": perToken,
		"bandwidth_gbs": bw / 1e9, "limit_tokens_per_s": bw / float64(perToken),
	})
}

// decodeBytes is the bytes of weights a decode step of the GGUF file at
// path reads: every tensor but the token embeddings (one row of which a
// step reads), unless the output shares them.
func decodeBytes(path string) (uint64, error) {
	g, err := native.OpenGGUF(path)
	if err != nil {
		return 0, err
	}
	defer g.Close()
	var perToken, embd uint64
	tied := true
	for _, t := range g.Tensors {
		b, err := t.Bytes()
		if err != nil {
			return 0, err
		}
		switch t.Name {
		case "token_embd.weight":
			embd = b
			continue
		case "output.weight":
			tied = false
		}
		perToken += b
	}
	if tied {
		perToken += embd
	}
	return perToken, nil
}

// readBandwidth is the best streaming read rate, bytes/s, of threads
// goroutines each scanning its share of a buffer of size bytes for a byte
// it does not hold (bytes.IndexByte: the runtime's vector loop, so the
// loads are the limit), over passes passes.
func readBandwidth(size, threads, passes int) float64 {
	buf := bytes.Repeat([]byte{1}, size)
	share := len(buf) / threads
	best := 0.0
	for range passes {
		start := time.Now()
		found := make(chan int, threads)
		for w := range threads {
			go func(part []byte) { found <- bytes.IndexByte(part, 0) }(buf[w*share : (w+1)*share])
		}
		for range threads {
			<-found // -1: the buffer holds no zero
		}
		best = max(best, float64(share*threads)/time.Since(start).Seconds())
	}
	return best
}
