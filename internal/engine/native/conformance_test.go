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
				// The whole context less the prompt: long enough that a
				// cancel at 100 ms lands mid-batch.
				LongOutput: 900,
			})
		})
	}
}
