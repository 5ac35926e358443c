package native

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/engine"
)

// BenchmarkDecode measures decode throughput of the stories15M shape (F32,
// synthetic weights) at batch 1 and 8, one thread and all cores. Each
// iteration generates 32 tokens per sequence after a one-token prompt; the
// reported tokens/s excludes prefill (first token).
func BenchmarkDecode(b *testing.B) {
	for _, threads := range []int{1, 0} {
		for _, bs := range []int{1, 8} {
			name := fmt.Sprintf("stories15M/batch=%d/threads=%d", bs, threads)
			b.Run(name, func(b *testing.B) {
				nc := &config.NativeConfig{BatchSize: &bs}
				if threads > 0 {
					nc.Threads = &threads
				}
				e := New()
				if _, err := e.Load(context.Background(), config.ExperimentConfig{Model: "stories15M", Native: nc}); err != nil {
					b.Fatal(err)
				}
				defer e.Close()
				prompts := make([]engine.Prompt, bs)
				for i := range prompts {
					prompts[i] = engine.Prompt{ID: fmt.Sprint(i), Tokens: []int{100 + i}}
				}
				p := engine.GenParams{MaxNewTokens: 33, MinNewTokens: 33, IgnoreEOS: true, Strategy: "greedy"}
				var decodeSec float64
				var tokens int
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					comps, err := e.Generate(context.Background(), prompts, p)
					if err != nil {
						b.Fatal(err)
					}
					tt := comps[0].TokenTimes
					decodeSec += (tt[len(tt)-1] - tt[0]).Seconds()
					tokens += bs * (len(tt) - 1)
				}
				b.ReportMetric(float64(tokens)/decodeSec, "tokens/s")
			})
		}
	}
}

// BenchmarkPrefill measures prompt processing: one 128-token prompt, time to
// the first output token. The model is LLEM_BENCH_GGUF when set (a
// quantised file, say), else the synthetic stories15M.
func BenchmarkPrefill(b *testing.B) {
	model := os.Getenv("LLEM_BENCH_GGUF")
	if model == "" {
		model = "stories15M"
	}
	for _, kernels := range []string{KernelsAuto, KernelsSIMDFloat} {
		b.Run("kernels="+kernels, func(b *testing.B) {
			threads, bs := 2, 1
			e := New()
			if _, err := e.Load(context.Background(), config.ExperimentConfig{Model: model, Native: &config.NativeConfig{BatchSize: &bs, Threads: &threads, Kernels: &kernels}}); err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			const n = 128
			toks := make([]int, n)
			for i := range toks {
				toks[i] = 100 + i
			}
			prompts := []engine.Prompt{{ID: "p", Tokens: toks}}
			p := engine.GenParams{MaxNewTokens: 1, MinNewTokens: 1, IgnoreEOS: true, Strategy: "greedy"}
			var sec float64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				comps, err := e.Generate(context.Background(), prompts, p)
				if err != nil {
					b.Fatal(err)
				}
				sec += comps[0].TokenTimes[0].Seconds()
			}
			b.ReportMetric(float64(n*b.N)/sec, "prompt-tokens/s")
		})
	}
}
