// Command nativetool drives llem's native engine outside the harness, for
// peer comparisons (bench/native/compare-llamacpp.sh; model files come from
// `llem model synth`):
//
//	nativetool greedy --model FILE|SHAPE --n 32 [--threads N] PROMPT...
//	nativetool bench  --model FILE|SHAPE [--threads N] [--batch B] [--n 64] [--kernels auto]
//	nativetool types  --model FILE
//
// greedy prints one JSON object per prompt with the prompt's token ids (BOS
// included) and the greedy output ids; bench prints decode tokens/s; types
// counts a GGUF file's tensors by type.
package main

import (
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
		return fmt.Errorf("usage: nativetool greedy|bench|types [flags]")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	seed := fs.Int64("seed", native.DefaultWeightsSeed, "weights seed")
	model := fs.String("model", "stories15M", "GGUF path or synthetic shape")
	n := fs.Int("n", 32, "new tokens per prompt")
	threads := fs.Int("threads", 1, "threads")
	batch := fs.Int("batch", 1, "batch size (bench)")
	kernels := fs.String("kernels", "auto", "auto, simd, simd-float or portable")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	ctx := context.Background()
	switch args[0] {
	case "types":
		return tensorTypes(*model)
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
		return bench(ctx, e, info, bs, gp)
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

// bench decodes gp.MaxNewTokens tokens for bs one-token prompts after a
// warm-up, and reports decode throughput (prefill excluded).
func bench(ctx context.Context, e *native.Engine, info engine.LoadInfo, bs int, gp engine.GenParams) error {
	batch := make([]engine.Prompt, bs)
	for i := range batch {
		batch[i] = engine.Prompt{ID: fmt.Sprint(i), Text: "Once upon a time"}
	}
	if _, err := e.Generate(ctx, batch, engine.GenParams{MaxNewTokens: 4, Strategy: "greedy"}); err != nil {
		return err
	}
	var best float64
	for rep := 0; rep < 3; rep++ {
		comps, err := e.Generate(ctx, batch, gp)
		if err != nil {
			return err
		}
		c := comps[0]
		decode := c.TokenTimes[len(c.TokenTimes)-1] - c.TokenTimes[0]
		tps := float64(bs*(len(c.TokenTimes)-1)) / decode.Seconds()
		best = max(best, tps)
	}
	fmt.Printf("llem native: model=%s threads=%v batch=%d kernels=%v decode=%.1f tokens/s (best of 3, %d tokens each, %s)\n",
		info.ModelName, info.Effective["threads"], bs, info.Effective["kernels"], best, gp.MaxNewTokens, time.Now().UTC().Format(time.RFC3339))
	return nil
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
