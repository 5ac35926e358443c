package harness

import (
	"context"
	"errors"
	"github.com/llenergymeasure/llem/event"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/energy"
	"github.com/llenergymeasure/llem/internal/energy/samplertest"
	"github.com/llenergymeasure/llem/internal/engine"
	"github.com/llenergymeasure/llem/results"
)

// pacedEngine answers each batch after the next of its latencies
// (cycling), so warm-up convergence is decided by known timings.
type pacedEngine struct {
	latencies []time.Duration
	calls     int
}

func (e *pacedEngine) Load(context.Context, config.ExperimentConfig) (engine.LoadInfo, error) {
	return engine.LoadInfo{}, nil
}

func (e *pacedEngine) Generate(ctx context.Context, batch []engine.Prompt, _ engine.GenParams) ([]engine.Completion, error) {
	d := e.latencies[e.calls%len(e.latencies)]
	e.calls++
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	out := make([]engine.Completion, len(batch))
	for i, p := range batch {
		out[i] = engine.Completion{PromptID: p.ID, OutputTokens: 1}
	}
	return out, nil
}

func (e *pacedEngine) Close() error { return nil }

// stepRun is a run ready for its steps, with a recorder on a fake GPU;
// sleeps records the thermal floor's waits instead of sleeping.
func stepRun(t *testing.T, cfg config.ExperimentConfig) (*run, *energy.Recorder, *[]time.Duration, *[]Event) {
	t.Helper()
	var sleeps []time.Duration
	var events []Event
	h := &run{cfg: cfg, began: time.Now(), opts: Options{
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		Sleep:    func(_ context.Context, d time.Duration) error { sleeps = append(sleeps, d); return nil },
		Observer: func(e Event) { events = append(events, e) },
	}}
	h.begin()
	rec, err := energy.NewRecorder([]energy.Sampler{&samplertest.Fake{PowerW: 50}}, energy.RecorderOptions{Interval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rec.Stop() })
	return h, rec, &sleeps, &events
}

func somePrompts(n int) []engine.Prompt {
	ps := make([]engine.Prompt, n)
	for i := range ps {
		ps[i] = engine.Prompt{ID: string(rune('a' + i)), Text: "x"}
	}
	return ps
}

// TestWarmUpConvergence: with convergence on, warm-up stops at the first
// window (after the minimum) whose latency CV is under the threshold, and
// runs to the maximum when latencies never settle.
func TestWarmUpConvergence(t *testing.T) {
	for _, tc := range []struct {
		name          string
		latencies     []time.Duration
		wantRuns      int
		wantConverged bool
	}{
		// Steady latencies: converged as soon as the window is full.
		{"steady", []time.Duration{20 * time.Millisecond}, 3, true},
		// Latencies alternating 1 ms and 40 ms: a CV near 1, never under 5%.
		{"unsettled", []time.Duration{time.Millisecond, 40 * time.Millisecond}, 8, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tinyExperiment()
			cfg.Warmup = config.WarmupConfig{Enabled: true, Convergence: true, CVThreshold: 0.05, WindowSize: 3, MinPrompts: 3, MaxPrompts: 8}
			if tc.name == "steady" {
				cfg.Warmup.CVThreshold = 0.5 // generous: a loaded test machine jitters
			}
			h, rec, _, _ := stepRun(t, cfg)
			eng := &pacedEngine{latencies: tc.latencies}
			if err := h.warmUp(context.Background(), rec, eng, somePrompts(4), engine.GenParams{}, 1); err != nil {
				t.Fatal(err)
			}
			w := h.res.Warmup
			if w.Runs != tc.wantRuns || w.Converged != tc.wantConverged || eng.calls != tc.wantRuns {
				t.Errorf("warm-up: %d runs (%d generate calls), converged %v (final CV %.3f); want %d runs, converged %v",
					w.Runs, eng.calls, w.Converged, w.FinalCV, tc.wantRuns, tc.wantConverged)
			}
		})
	}
}

// TestWarmUpFixedCount: without convergence, exactly n_warmup runs.
func TestWarmUpFixedCount(t *testing.T) {
	cfg := tinyExperiment()
	cfg.Warmup = config.WarmupConfig{Enabled: true, NWarmup: 2}
	h, rec, _, _ := stepRun(t, cfg)
	eng := &pacedEngine{latencies: []time.Duration{time.Millisecond}}
	if err := h.warmUp(context.Background(), rec, eng, somePrompts(4), engine.GenParams{}, 2); err != nil {
		t.Fatal(err)
	}
	if h.res.Warmup.Runs != 2 || eng.calls != 2 || h.res.Warmup.Converged {
		t.Errorf("warm-up: %d runs, %d calls, converged %v; want 2 fixed runs", h.res.Warmup.Runs, eng.calls, h.res.Warmup.Converged)
	}
}

// TestThermalFloor: the floor waits what the warm-up left of it, as its
// own phase, and records the wait; a warm-up longer than the floor waits
// nothing; a disabled warm-up has no floor.
func TestThermalFloor(t *testing.T) {
	for _, tc := range []struct {
		name     string
		enabled  bool
		floor    float64
		latency  time.Duration
		wantWait bool
	}{
		{"waits the rest", true, 30, time.Millisecond, true},
		{"warm-up outlasts it", true, 0.01, 30 * time.Millisecond, false},
		{"warm-up disabled", false, 30, time.Millisecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tinyExperiment()
			cfg.Warmup = config.WarmupConfig{Enabled: tc.enabled, NWarmup: 1, ThermalFloorSeconds: tc.floor}
			h, rec, sleeps, events := stepRun(t, cfg)
			eng := &pacedEngine{latencies: []time.Duration{tc.latency}}
			if err := h.warmUp(context.Background(), rec, eng, somePrompts(2), engine.GenParams{}, 1); err != nil {
				t.Fatal(err)
			}
			if !tc.wantWait {
				if len(*sleeps) != 0 || h.res.Warmup.ThermalWaitS != 0 {
					t.Errorf("slept %v, recorded %g s; want no wait", *sleeps, h.res.Warmup.ThermalWaitS)
				}
				return
			}
			floor := seconds(tc.floor)
			if len(*sleeps) != 1 || (*sleeps)[0] > floor || (*sleeps)[0] < floor-time.Second {
				t.Fatalf("slept %v, want one wait just under the %v floor", *sleeps, floor)
			}
			if got := h.res.Warmup.ThermalWaitS; got != (*sleeps)[0].Seconds() {
				t.Errorf("recorded thermal wait %g s, slept %v", got, (*sleeps)[0])
			}
			var thermal bool
			for _, e := range *events {
				thermal = thermal || (e.Phase == event.PhaseThermal && e.Remaining == (*sleeps)[0])
			}
			if !thermal {
				t.Errorf("no thermal-floor event with the wait among %+v", *events)
			}
		})
	}
}

// failingEngine fails to load.
type failingEngine struct{ pacedEngine }

func (failingEngine) Load(context.Context, config.ExperimentConfig) (engine.LoadInfo, error) {
	return engine.LoadInfo{}, errors.New("no such model")
}

// TestDetectStep: the recorder runs on the detected sensor, the protocol
// records its interval, and the quick protocol is a warning.
func TestDetectStep(t *testing.T) {
	h, _, _, _ := stepRun(t, tinyExperiment())
	h.opts.Quick = true
	h.opts.SamplingInterval = 20 * time.Millisecond
	h.opts.Energy = energy.DetectOptions{PowercapRoot: t.TempDir(), OpenNVML: func(energy.NVMLOptions) (energy.Sampler, error) { return &samplertest.Fake{PowerW: 10}, nil }}
	det, rec, err := h.detect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Stop()
	if len(det.Samplers) != 1 || h.res.Protocol.SamplingIntervalSeconds != 0.02 || !h.hasWarning(results.WarnQuickProtocol) {
		t.Errorf("%d samplers, protocol %+v, warnings %+v", len(det.Samplers), h.res.Protocol, h.res.MeasurementWarnings)
	}
}

// TestBaselineStep: a disabled baseline is a warning and no idle power; an
// enabled one measures the fake GPU's constant 50 W.
func TestBaselineStep(t *testing.T) {
	cfg := tinyExperiment()
	cfg.Baseline.Enabled = false
	h, rec, _, _ := stepRun(t, cfg)
	if b, err := h.baseline(context.Background(), rec); err != nil || len(b.Domains) != 0 || !h.hasWarning(results.WarnNoBaseline) {
		t.Errorf("disabled: baseline %+v, err %v, warnings %+v", b, err, h.res.MeasurementWarnings)
	}
	cfg.Baseline.Enabled, cfg.Baseline.DurationSeconds = true, 0.2
	h, rec, _, events := stepRun(t, cfg)
	b, err := h.baseline(context.Background(), rec)
	if err != nil {
		t.Fatal(err)
	}
	if p := b.TotalPowerW(); p < 49 || p > 51 {
		t.Errorf("idle power %g W, want 50", p)
	}
	if len(*events) != 1 || (*events)[0].Phase != event.PhaseBaseline || (*events)[0].Remaining != 200*time.Millisecond {
		t.Errorf("events %+v", *events)
	}
}

// TestLoadStep: a failed load still hands back the engine to close.
func TestLoadStep(t *testing.T) {
	h, _, _, _ := stepRun(t, tinyExperiment())
	h.opts.NewEngine = func(config.ExperimentConfig) (engine.Engine, error) { return &failingEngine{}, nil }
	eng, _, err := h.load(context.Background(), &energy.Detected{})
	if err == nil || eng == nil {
		t.Errorf("load: engine %v, err %v; want the engine back with the error", eng, err)
	}
	h.opts.NewEngine = func(config.ExperimentConfig) (engine.Engine, error) { return &pacedEngine{}, nil }
	if eng, _, err := h.load(context.Background(), &energy.Detected{}); err != nil || eng == nil {
		t.Errorf("load: engine %v, err %v", eng, err)
	}
}

// TestPromptsStep: n prompts from the data set, recorded in the result,
// and an engine without exact output lengths says so.
func TestPromptsStep(t *testing.T) {
	h, _, _, _ := stepRun(t, tinyExperiment())
	ps, err := h.prompts(context.Background(), &pacedEngine{}, engine.LoadInfo{ExactOutputLength: false})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != h.cfg.N || h.res.Dataset.Name != h.cfg.Dataset.Name || !h.hasWarning(results.WarnOutputLength) {
		t.Errorf("%d prompts, dataset %+v, warnings %+v", len(ps), h.res.Dataset, h.res.MeasurementWarnings)
	}
}

// TestMeasureAndAssembleSteps: one energy window per batch, progress per
// batch, and a result whose figures come from the fake GPU.
func TestMeasureAndAssembleSteps(t *testing.T) {
	h, rec, _, events := stepRun(t, tinyExperiment())
	eng := &pacedEngine{latencies: []time.Duration{15 * time.Millisecond}}
	m, err := h.measure(context.Background(), rec, eng, somePrompts(5), engine.GenParams{}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.windows) != 3 || m.done != 5 || len(*events) != 3 || h.res.Effective["batching_strategy"] == nil {
		t.Errorf("%d windows, %d done, %d events, effective %v", len(m.windows), m.done, len(*events), h.res.Effective)
	}
	_ = rec.Stop()
	h.assemble(&energy.Detected{}, rec, energy.Baseline{}, engine.LoadInfo{}, m)
	r := h.res
	if r.Throughput.Requests != 5 || r.Energy.Source != results.SourceNVMLCounter || r.Energy.Estimated || r.Energy.TotalJ <= 0 || r.CompletedAt.IsZero() {
		t.Errorf("assembled: requests %d, energy %+v", r.Throughput.Requests, r.Energy)
	}
}

// TestWindowWarningsOncePerKind: energy's window warnings are raised once
// per kind, with how many batch windows showed it.
func TestWindowWarningsOncePerKind(t *testing.T) {
	h, _, _, _ := stepRun(t, tinyExperiment())
	short := func(msg string) results.Warning {
		return results.Warning{Code: results.WarnWindowTooShort, Message: msg}
	}
	h.warnWindows([]results.Warning{short("gpu 0: window of 1ms"), short("gpu 0: window of 2ms"), {Code: results.WarnEnergyMismatch, Message: "gpu 0: paths differ"}, short("gpu 0: window of 3ms")}, 5)
	var got []string
	for _, w := range h.res.MeasurementWarnings {
		if w.Code == results.WarnWindowTooShort || w.Code == results.WarnEnergyMismatch {
			got = append(got, w.Code+": "+w.Message)
		}
	}
	want := []string{results.WarnWindowTooShort + ": gpu 0: window of 1ms (seen in 3 of 5 batch windows)", results.WarnEnergyMismatch + ": gpu 0: paths differ"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("warnings %q, want %q", got, want)
	}
}
