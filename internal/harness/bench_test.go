package harness

import (
	"context"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/energy"
	"github.com/llenergymeasure/llem/internal/engine"
	"github.com/llenergymeasure/llem/internal/engine/native"
)

// BenchmarkNativeDecodeWithSampling measures the native engine's decode
// throughput on stories15M (batch 1, 32 new tokens) with no recorder, and
// with the recorder sampling every second and every 10 ms, to show the
// measurement does not slow what it measures. Compare the tok/s metrics:
//
//	go test ./internal/harness -run '^$' -bench NativeDecodeWithSampling -benchtime 20x
func BenchmarkNativeDecodeWithSampling(b *testing.B) {
	cfg := config.DefaultExperiment()
	cfg.Model, cfg.Backend = "stories15M", config.BackendNative
	threads := 1
	cfg.Native = &config.NativeConfig{Threads: &threads}
	config.ApplyDefaults(&cfg)
	ctx := context.Background()
	eng := native.New()
	if _, err := eng.Load(ctx, cfg); err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	prompt := []engine.Prompt{{ID: "p", Text: "Once upon a time there was a little robot who"}}
	params := engine.GenParams{MaxNewTokens: 32, IgnoreEOS: true, Strategy: "greedy", Temperature: 1, TopP: 1, RepetitionPenalty: 1}

	for _, tc := range []struct {
		name     string
		interval time.Duration
	}{{"off", 0}, {"1s", time.Second}, {"10ms", 10 * time.Millisecond}} {
		b.Run(tc.name, func(b *testing.B) {
			if tc.interval > 0 {
				det, err := energy.Detect(ctx, energy.DetectOptions{DisableNVML: true, PowercapRoot: b.TempDir()})
				if err != nil {
					b.Fatal(err)
				}
				rec, err := energy.NewRecorder(det.Samplers, energy.RecorderOptions{Interval: tc.interval})
				if err != nil {
					b.Fatal(err)
				}
				if err := rec.Start(ctx); err != nil {
					b.Fatal(err)
				}
				defer rec.Stop()
			}
			var tokens int
			b.ResetTimer()
			for range b.N {
				comps, err := eng.Generate(ctx, prompt, params)
				if err != nil {
					b.Fatal(err)
				}
				tokens += comps[0].OutputTokens
			}
			b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tok/s")
		})
	}
}
