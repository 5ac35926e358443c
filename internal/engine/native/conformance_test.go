package native

import (
	"testing"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/engine"
	"github.com/llenergymeasure/llem/internal/engine/enginetest"
)

// TestConformance runs the engine suite on the tiny synthetic shape, one
// prompt at a time and batched.
func TestConformance(t *testing.T) {
	threads := 2
	for _, batch := range []int{1, 3} {
		t.Run(map[int]string{1: "Unbatched", 3: "Batched"}[batch], func(t *testing.T) {
			enginetest.Run(t, enginetest.Harness{
				New: func() engine.Engine { return New() },
				Config: config.ExperimentConfig{Model: "tiny", Backend: config.BackendNative,
					Native: &config.NativeConfig{Threads: &threads, BatchSize: &batch}},
				// Most of the context, 16 times: about 2 s uncancelled on
				// 2 threads, so a cancel at 50 ms lands mid-batch.
				LongOutput: 900,
				LongBatch:  16,
			})
		})
	}
}
