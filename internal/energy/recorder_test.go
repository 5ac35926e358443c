package energy

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/results"
)

// scriptSampler is a one-domain sampler whose counter and power a test sets.
type scriptSampler struct {
	mu       sync.Mutex
	domain   Domain
	source   Source
	uj, max  uint64
	counter  bool
	powerW   float64
	power    bool
	period   time.Duration
	failNext bool
	reads    int
}

func (s *scriptSampler) Name() string                 { return "script" }
func (s *scriptSampler) Domains() []Domain            { return []Domain{s.domain} }
func (s *scriptSampler) Start(context.Context) error  { return nil }
func (s *scriptSampler) Stop() error                  { return nil }
func (s *scriptSampler) SensorPeriod() time.Duration  { return s.period }
func (s *scriptSampler) set(f func(s *scriptSampler)) { s.mu.Lock(); f(s); s.mu.Unlock() }
func (s *scriptSampler) Read() (Reading, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if s.failNext {
		s.failNext = false
		return Reading{}, errors.New("sensor hiccup")
	}
	return Reading{Time: time.Now(), Domains: []DomainReading{{Domain: s.domain, Source: s.source,
		EnergyUJ: s.uj, MaxEnergyUJ: s.max, HasEnergy: s.counter, PowerW: s.powerW, HasPower: s.power}}}, nil
}

func newRecorder(t *testing.T, clock *testClock, ss ...Sampler) *Recorder {
	t.Helper()
	rec, err := NewRecorder(ss, RecorderOptions{Interval: time.Hour, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rec.Stop() })
	return rec
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newTestClock() *testClock { return &testClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func TestNewRecorderInterval(t *testing.T) {
	s := &scriptSampler{}
	if _, err := NewRecorder([]Sampler{s}, RecorderOptions{Interval: time.Millisecond}); err == nil {
		t.Error("1 ms interval accepted; minimum is 10 ms")
	}
	if _, err := NewRecorder(nil, RecorderOptions{}); err == nil {
		t.Error("no sampler accepted")
	}
	rec, err := NewRecorder([]Sampler{s}, RecorderOptions{})
	if err != nil || rec.Interval() != DefaultInterval {
		t.Errorf("default interval = %v, %v", rec.Interval(), err)
	}
}

func TestRecorderSamplesPeriodically(t *testing.T) {
	s := &scriptSampler{domain: Domain{Kind: DomainCPUPackage}, source: SourceRAPL, counter: true}
	rec, err := NewRecorder([]Sampler{s}, RecorderOptions{Interval: MinInterval})
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := rec.Start(t.Context()); err == nil {
		t.Error("second Start accepted")
	}
	time.Sleep(150 * time.Millisecond)
	if err := rec.Stop(); err != nil {
		t.Fatal(err)
	}
	n := len(rec.Samples())
	if n < 3 {
		t.Errorf("%d samples in 150 ms at 10 ms, want several", n)
	}
	time.Sleep(30 * time.Millisecond)
	if len(rec.Samples()) != n {
		t.Error("recorder kept sampling after Stop")
	}
	if err := rec.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestRecorderPhasesTokensDerivedPower(t *testing.T) {
	clock := newTestClock()
	s := &scriptSampler{domain: Domain{Kind: DomainCPUPackage, Name: "package-0"}, source: SourceRAPL, counter: true, uj: 9_000_000, max: 10_000_000}
	rec := newRecorder(t, clock, s)
	rec.Mark(PhaseWarmup)
	clock.Add(time.Second)
	rec.AddTokens(40)
	rec.Sample()
	rec.Mark(PhaseMeasure)
	clock.Add(2 * time.Second)
	s.set(func(s *scriptSampler) { s.uj = 1_000_000 }) // wrapped at 10 J: +2 J
	rec.AddTokens(100)
	rec.AddTokens(100)
	rec.Sample()

	all := rec.Samples()
	if len(all) != 3 {
		t.Fatalf("%d samples", len(all))
	}
	if got := rec.Samples(PhaseMeasure); len(got) != 1 || got[0].TokensPerSec != 100 {
		t.Fatalf("measure samples = %+v, want one at 100 tokens/s", got)
	}
	if got := rec.Samples(PhaseWarmup); len(got) != 1 || got[0].TokensPerSec != 40 {
		t.Errorf("warm-up samples = %+v", got)
	}
	last := all[2].Domains[0]
	// 9 J → 1 J through the wrap at 10 J: +2 J over 2 s, 1 W derived.
	if last.CumulativeEnergy != 2*Joule || !last.PowerDerived || last.PowerW != 1 || all[2].Elapsed != 3*time.Second {
		t.Errorf("last sample = %+v", last)
	}
}

// TestDerivedPowerCoarseCounter drives a counter that steps once per 10 ms
// sensor period at a steady 4 W (as the estimate's CPU-time ticks do) and
// reads it between steps and 1 ms after each: derived power is the step
// over the sensor period, never the step over the 1 ms since the last
// reading (40 W), and a reading between steps derives none (not 0 W).
func TestDerivedPowerCoarseCounter(t *testing.T) {
	clock := newTestClock()
	s := &scriptSampler{domain: Domain{Kind: DomainCPUPackage, Name: "package-0"}, source: SourceEstimate, counter: true, max: 1 << 40, period: 10 * time.Millisecond}
	rec := newRecorder(t, clock, s)
	rec.Sample()
	var derived []float64
	for range 5 {
		clock.Add(5 * time.Millisecond)
		rec.Sample() // between steps: the counter has not moved
		clock.Add(4 * time.Millisecond)
		rec.Sample()
		clock.Add(time.Millisecond)
		s.set(func(s *scriptSampler) { s.uj += 40_000 }) // 0.04 J: 4 W for 10 ms
		rec.Sample()                                     // right after the step, 1 ms after the last reading
	}
	for _, smp := range rec.Samples()[1:] {
		d := smp.Domains[0]
		if d.HasPower {
			derived = append(derived, d.PowerW)
		}
	}
	if len(derived) < 5 {
		t.Fatalf("%d derived powers for 5 steps: %v", len(derived), derived)
	}
	for _, w := range derived {
		if w <= 0 || w > 4.000001 {
			t.Errorf("derived power %g W from a 4 W counter (all: %v)", w, derived)
		}
	}
}

func TestRecorderReadErrorSkipsSample(t *testing.T) {
	clock := newTestClock()
	s := &scriptSampler{domain: Domain{Kind: DomainGPU}, source: SourceNVMLCounter, counter: true}
	rec := newRecorder(t, clock, s)
	s.set(func(s *scriptSampler) { s.failNext = true })
	if got := rec.Sample(); len(got.Domains) != 0 {
		t.Errorf("failed read produced domains %v", got.Domains)
	}
	if errs := rec.ReadErrors(); len(errs) != 1 {
		t.Errorf("read errors = %v", errs)
	}
}

func TestWindowTooShortIsFlagged(t *testing.T) {
	clock := newTestClock()
	s := &scriptSampler{domain: Domain{Kind: DomainGPU}, source: SourceNVMLCounter, counter: true, uj: 7, powerW: 50, power: true, period: 100 * time.Millisecond}
	rec := newRecorder(t, clock, s)
	w := rec.OpenWindow()
	clock.Add(20 * time.Millisecond)
	res := w.Close()
	if !res.Domains[0].TooShort || res.Domains[0].Energy != 0 {
		t.Fatalf("window = %+v, want flagged", res.Domains[0])
	}
	ws := WindowWarnings(res)
	if len(ws) == 0 || ws[0].Code != results.WarnWindowTooShort {
		t.Errorf("warnings = %v", ws)
	}
}

func TestMeasureBaseline(t *testing.T) {
	tests := []struct {
		name   string
		powers []float64
		stable bool
	}{
		{"steady", []float64{60, 61, 59, 60, 60}, true},
		{"noisy", []float64{30, 90, 20, 100, 60}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &scriptSampler{domain: Domain{Kind: DomainGPU}, source: SourceNVMLIntegration, power: true, powerW: tt.powers[0]}
			rec, err := NewRecorder([]Sampler{s}, RecorderOptions{Interval: MinInterval})
			if err != nil {
				t.Fatal(err)
			}
			if err := rec.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			defer rec.Stop()
			stop := make(chan struct{})
			go func() { // cycle the power through the values while the baseline runs
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					case <-time.After(7 * time.Millisecond):
						s.set(func(s *scriptSampler) { s.powerW = tt.powers[i%len(tt.powers)] })
					}
				}
			}()
			rec.Mark(PhaseWarmup)
			b, err := MeasureBaseline(t.Context(), rec, 200*time.Millisecond)
			close(stop)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Phase() != PhaseWarmup {
				t.Errorf("phase after baseline = %q, want restored", rec.Phase())
			}
			d := b.Domains[0]
			if d.PowerW < 19 || d.PowerW > 101 || d.Samples < 3 || b.Stable != tt.stable || d.Stable != tt.stable {
				t.Errorf("baseline = %+v", b)
			}
			if w, ok := b.PowerW(d.Domain); !ok || w != d.PowerW || b.TotalPowerW() != d.PowerW {
				t.Errorf("PowerW lookup = %v, %v", w, ok)
			}
			if ws := BaselineWarnings(b); (len(ws) == 0) != tt.stable {
				t.Errorf("warnings = %v", ws)
			}
		})
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	rec, _ := NewRecorder([]Sampler{&scriptSampler{}}, RecorderOptions{})
	_ = rec.Start(t.Context())
	defer rec.Stop()
	if _, err := MeasureBaseline(ctx, rec, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled baseline: %v", err)
	}
}

func TestRecorderStopsWithContext(t *testing.T) {
	s := &scriptSampler{domain: Domain{Kind: DomainCPU}, source: SourceEstimate, counter: true}
	rec, err := NewRecorder([]Sampler{s}, RecorderOptions{Interval: MinInterval})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	if err := rec.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	time.Sleep(50 * time.Millisecond)
	n := len(rec.Samples())
	time.Sleep(50 * time.Millisecond)
	if len(rec.Samples()) != n {
		t.Error("recorder kept sampling after its context ended")
	}
	if err := rec.Stop(); err != nil {
		t.Fatal(err)
	}
}

// A read that fails at close leaves the domain measured up to its last
// reading inside the window, not missing.
func TestWindowCloseReadFails(t *testing.T) {
	clock := newTestClock()
	s := &scriptSampler{domain: Domain{Kind: DomainCPUPackage}, source: SourceRAPL, counter: true, uj: 0, max: 1 << 40}
	rec := newRecorder(t, clock, s)
	w := rec.OpenWindow()
	clock.Add(time.Second)
	s.set(func(s *scriptSampler) { s.uj = 5_000_000 })
	rec.Sample()
	clock.Add(time.Second)
	s.set(func(s *scriptSampler) { s.uj = 9_000_000; s.failNext = true })
	res := w.Close()
	if len(res.Domains) != 1 || res.Domains[0].Energy != 5*Joule {
		t.Fatalf("window = %+v, want 5 J from the last good reading", res.Domains)
	}
	if len(rec.ReadErrors()) != 1 {
		t.Errorf("read errors = %v", rec.ReadErrors())
	}
}

// TestWindowCumulativeSplitsAtReadings: a window keeps the cumulative
// energy at each reading inside it, so a split between readings follows
// the energy, not the clock.
func TestWindowCumulativeSplitsAtReadings(t *testing.T) {
	clock := newTestClock()
	s := &scriptSampler{domain: Domain{Kind: DomainGPU}, source: SourceNVMLCounter, counter: true, uj: 0}
	rec := newRecorder(t, clock, s)
	w := rec.OpenWindow()
	clock.Add(time.Second)
	s.set(func(s *scriptSampler) { s.uj = 10_000_000 }) // 10 J in the first second
	rec.Sample()
	clock.Add(time.Second)
	s.set(func(s *scriptSampler) { s.uj = 40_000_000 }) // 30 J in the second
	res := w.Close()
	d := res.Domains[0]
	if len(d.Cumulative) != 3 || d.Cumulative[1].At != time.Second || d.Cumulative[2].Energy != d.Energy {
		t.Fatalf("cumulative = %+v, energy %v", d.Cumulative, d.Energy)
	}
	if got := EnergyFractionAt(d.Cumulative, time.Second); got != 0.25 {
		t.Errorf("share by 1 s = %g, want 10 J of 40", got)
	}
}

func TestPhaseWarning(t *testing.T) {
	if _, ok := PhaseWarning(2*time.Second, time.Second, time.Second); ok {
		t.Error("phases as long as the period warned")
	}
	w, ok := PhaseWarning(5*time.Millisecond, time.Second, 100*time.Millisecond)
	if !ok || w.Code != results.WarnPhaseTooShort || !strings.Contains(w.Message, "prefill (5ms)") || !strings.Contains(w.Message, "100ms") {
		t.Errorf("warning = %+v, %v", w, ok)
	}
}
