package harness

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/event"
	"github.com/llenergymeasure/llem/internal/energy"
	"github.com/llenergymeasure/llem/internal/energy/samplertest"
	"github.com/llenergymeasure/llem/results"
)

// runCollecting runs the tiny experiment and returns its progress events.
func runCollecting(t *testing.T, opts Options) []Event {
	t.Helper()
	cfg := tinyExperiment()
	cfg.Baseline.DurationSeconds = 0.5
	var mu sync.Mutex
	var got []Event
	opts.NewEngine = nativeEngine
	opts.SamplingInterval = 20 * time.Millisecond
	opts.ProgressInterval = 50 * time.Millisecond
	opts.Observer = func(e Event) {
		mu.Lock()
		got = append(got, e)
		mu.Unlock()
	}
	if _, err := Run(context.Background(), cfg, opts); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return got
}

// TestProgressCarriesDomainReadingsPeriodically: once the sensors run,
// every event carries each domain's power and cumulative energy with its
// source, periodic events keep coming between steps (the baseline counts
// down in them), and the counts of completed work add up at the end.
func TestProgressCarriesDomainReadingsPeriodically(t *testing.T) {
	gpu := &samplertest.Fake{PowerW: 100}
	evs := runCollecting(t, Options{Energy: energy.DetectOptions{
		PowercapRoot: t.TempDir(),
		OpenNVML:     func(energy.NVMLOptions) (energy.Sampler, error) { return gpu, nil },
	}})
	var baselineTicks []time.Duration
	lastJ := -1.0
	sensing := false
	for i, e := range evs {
		if e.Phase == event.PhaseBaseline {
			sensing = true
			if e.Periodic {
				baselineTicks = append(baselineTicks, e.Remaining)
			}
		}
		if !sensing {
			continue
		}
		if len(e.Domains) != 1 {
			t.Fatalf("event %d (%s) has domains %+v, want the one GPU", i, e.Phase, e.Domains)
		}
		d := e.Domains[0]
		if d.Kind != "gpu" || d.Index != 0 || d.Source != results.SourceNVMLCounter {
			t.Errorf("event %d: domain %+v, want gpu 0 from the NVML counter", i, d)
		}
		if d.EnergyJ < lastJ {
			t.Errorf("event %d: cumulative energy went down, %v J after %v J", i, d.EnergyJ, lastJ)
		}
		lastJ = d.EnergyJ
		if e.Phase == event.PhaseMeasure && (d.PowerW < 90 || d.PowerW > 110) {
			t.Errorf("event %d: power %v W, want about the fake's 100 W", i, d.PowerW)
		}
	}
	if len(baselineTicks) < 4 {
		t.Fatalf("%d periodic events in a 0.5 s baseline at 50 ms, want at least 4", len(baselineTicks))
	}
	for i := 1; i < len(baselineTicks); i++ {
		if baselineTicks[i] > baselineTicks[i-1] {
			t.Errorf("baseline countdown went up: %v", baselineTicks)
			break
		}
	}
	last := evs[len(evs)-1]
	if last.Phase != event.PhaseDone || last.Periodic {
		t.Fatalf("last event %+v, want the done step (no periodic event after it)", last)
	}
	// One warm-up run of a batch of 2 and 6 measured prompts, 8 tokens each.
	if last.Requests != 8 || last.OutputTokens != 64 {
		t.Errorf("done: %d requests, %d output tokens; want 8 and 64 (warm-up included)", last.Requests, last.OutputTokens)
	}
	// Energy since the sensors started: at least 100 W over the baseline.
	if j := last.Domains[0].EnergyJ; j < 100*0.5 {
		t.Errorf("done: cumulative energy %v J, want at least 50 J (100 W over the 0.5 s baseline)", j)
	}
}

// TestProgressLabelsTheEstimate: with no sensor, the readings come from
// the CPU-time estimate and say so.
func TestProgressLabelsTheEstimate(t *testing.T) {
	evs := runCollecting(t, Options{Energy: energy.DetectOptions{DisableNVML: true, PowercapRoot: t.TempDir()}})
	last := evs[len(evs)-1]
	if len(last.Domains) == 0 {
		t.Fatal("no domain readings at the end of the run")
	}
	for _, d := range last.Domains {
		if d.Source != results.SourceEstimated {
			t.Errorf("domain %+v on a machine without sensors, want source %q", d, results.SourceEstimated)
		}
	}
}
