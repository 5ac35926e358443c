package harness

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/llenergymeasure/llem/internal/energy"
)

// TestThermalFloorIsItsOwnPhase runs an experiment with a thermal floor
// and checks that the time series tags the wait after warm-up as the
// thermal floor, not as warm-up: a reader of the series must be able to
// tell the engine working from the GPU idling down to a steady state.
func TestThermalFloorIsItsOwnPhase(t *testing.T) {
	cfg := tinyExperiment()
	cfg.Warmup.ThermalFloorSeconds = 0.4
	dir := t.TempDir()
	res, err := Run(context.Background(), cfg, Options{
		NewEngine:        nativeEngine,
		OutDir:           dir,
		SamplingInterval: 20 * time.Millisecond,
		Energy:           energy.DetectOptions{DisableNVML: true, PowercapRoot: t.TempDir()},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Warmup.ThermalWaitS <= 0 {
		t.Fatalf("thermal wait %g s: the floor did not wait, nothing to label", res.Warmup.ThermalWaitS)
	}
	type row struct {
		TimestampS float64 `parquet:"timestamp_s"`
		Phase      string  `parquet:"phase"`
	}
	rows, err := parquet.ReadFile[row](filepath.Join(dir, res.TimeseriesPath))
	if err != nil {
		t.Fatal(err)
	}
	var phases []string
	for _, r := range rows {
		if len(phases) == 0 || phases[len(phases)-1] != r.Phase {
			phases = append(phases, r.Phase)
		}
	}
	thermal := slices.Index(phases, string(energy.PhaseThermalFloor))
	if thermal < 0 {
		t.Fatalf("phases in order %v: no %q phase", phases, energy.PhaseThermalFloor)
	}
	if w := slices.Index(phases, string(energy.PhaseWarmup)); w > thermal {
		t.Errorf("phases in order %v: warm-up after the thermal floor", phases)
	}
	if m := slices.Index(phases, string(energy.PhaseMeasure)); m < thermal {
		t.Errorf("phases in order %v: want the thermal floor before measurement", phases)
	}
}
