// Package samplertest is the conformance suite every energy.Sampler must
// pass, fakes included (after restic's backend tests), and a Fake sampler
// for tests of code above the samplers (the harness).
package samplertest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/internal/energy"
	"github.com/llenergymeasure/llem/results"
)

var knownSources = []energy.Source{energy.SourceNVMLCounter, energy.SourceNVMLIntegration, energy.SourceRAPL, energy.SourceEstimate}

// Run checks the Sampler contract on samplers made by open, one per
// subtest: a name and distinct domains; Start, Read and Stop succeed;
// every reading has one entry per domain in Domains order, a known source
// and energy or power; cumulative counters never go back except through a
// declared wrap; estimates say so through Warner; and a Recorder window
// over the sampler reports every domain.
func Run(t *testing.T, open func(t *testing.T) energy.Sampler) {
	t.Helper()
	t.Run("Identity", func(t *testing.T) {
		s := open(t)
		if s.Name() == "" {
			t.Error("Name() is empty")
		}
		ds := s.Domains()
		if len(ds) == 0 {
			t.Fatal("Domains() is empty")
		}
		for i, d := range ds {
			if slices.Contains(ds[:i], d) {
				t.Errorf("domain %v listed twice", d)
			}
		}
		if p, ok := s.(energy.SensorPeriodic); ok && p.SensorPeriod() <= 0 {
			t.Errorf("SensorPeriod() = %v, want > 0", p.SensorPeriod())
		}
	})
	t.Run("Readings", func(t *testing.T) {
		s := open(t)
		if err := s.Start(t.Context()); err != nil {
			t.Fatalf("Start: %v", err)
		}
		ds := s.Domains()
		var prev energy.Reading
		estimated := false
		for i := 0; i < 3; i++ {
			r, err := s.Read()
			if err != nil {
				t.Fatalf("Read %d: %v", i, err)
			}
			if err := checkReading(ds, r, prev, i > 0); err != nil {
				t.Fatalf("Read %d: %v", i, err)
			}
			for _, d := range r.Domains {
				estimated = estimated || d.Source == energy.SourceEstimate
			}
			prev = r
			time.Sleep(2 * time.Millisecond)
		}
		if estimated {
			w, ok := s.(energy.Warner)
			if !ok || !slices.ContainsFunc(w.Warnings(), func(w results.Warning) bool { return w.Code == results.WarnEnergyEstimated }) {
				t.Error("sampler reports estimated energy but raises no energy_estimated warning")
			}
		}
		if err := s.Stop(); err != nil {
			t.Fatalf("Stop: %v", err)
		}
	})
	t.Run("Window", func(t *testing.T) {
		s := open(t)
		rec, err := energy.NewRecorder([]energy.Sampler{s}, energy.RecorderOptions{Interval: energy.MinInterval})
		if err != nil {
			t.Fatal(err)
		}
		if err := rec.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		w := rec.OpenWindow()
		time.Sleep(30 * time.Millisecond)
		res := w.Close()
		if err := rec.Stop(); err != nil {
			t.Fatal(err)
		}
		if errs := rec.ReadErrors(); len(errs) > 0 {
			t.Fatalf("read errors: %v", errs)
		}
		if len(res.Domains) != len(s.Domains()) {
			t.Fatalf("window has %d domains, sampler %d", len(res.Domains), len(s.Domains()))
		}
		for _, d := range res.Domains {
			if d.Energy < 0 || (!d.HasCounter && !d.HasIntegrated) {
				t.Errorf("%v: no energy path (%+v)", d.Domain, d)
			}
		}
	})
}

func checkReading(ds []energy.Domain, r, prev energy.Reading, hasPrev bool) error {
	if r.Time.IsZero() {
		return fmt.Errorf("reading has no time")
	}
	if len(r.Domains) != len(ds) {
		return fmt.Errorf("%d domain readings for %d domains", len(r.Domains), len(ds))
	}
	for j, d := range r.Domains {
		if d.Domain != ds[j] {
			return fmt.Errorf("reading %d is for %v, Domains()[%d] is %v", j, d.Domain, j, ds[j])
		}
		if !slices.Contains(knownSources, d.Source) {
			return fmt.Errorf("%v: unknown source %q", d.Domain, d.Source)
		}
		if !d.HasEnergy && !d.HasPower {
			return fmt.Errorf("%v: neither energy nor power", d.Domain)
		}
		if d.HasPower && d.PowerW < 0 {
			return fmt.Errorf("%v: negative power %v W", d.Domain, d.PowerW)
		}
		if d.MaxEnergyUJ > 0 && d.EnergyUJ > d.MaxEnergyUJ {
			return fmt.Errorf("%v: counter %d above its range %d", d.Domain, d.EnergyUJ, d.MaxEnergyUJ)
		}
		if hasPrev && d.HasEnergy {
			if _, err := energy.CounterDelta(prev.Domains[j].EnergyUJ, d.EnergyUJ, d.MaxEnergyUJ); err != nil {
				return fmt.Errorf("%v: %w", d.Domain, err)
			}
		}
	}
	if hasPrev && r.Time.Before(prev.Time) {
		return fmt.Errorf("reading time went back from %v to %v", prev.Time, r.Time)
	}
	return nil
}

// Fake is a sampler drawing constant power on each domain, with a
// cumulative counter that grows with its clock. It stands in for hardware
// in tests of the harness.
type Fake struct {
	// DomainList are the domains; one GPU when empty.
	DomainList []energy.Domain
	// Src labels every reading; SourceNVMLCounter when empty.
	Src energy.Source
	// PowerW is the constant power of every domain.
	PowerW float64
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	mu    sync.Mutex
	start time.Time
	reads int
}

// Name returns "fake".
func (f *Fake) Name() string { return "fake" }

// Domains returns DomainList, or one GPU.
func (f *Fake) Domains() []energy.Domain {
	if len(f.DomainList) == 0 {
		return []energy.Domain{{Kind: energy.DomainGPU, Index: 0, Name: "fake-gpu"}}
	}
	return f.DomainList
}

// SensorPeriod is 1 ms.
func (f *Fake) SensorPeriod() time.Duration { return time.Millisecond }

// Start starts the counter.
func (f *Fake) Start(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.start.IsZero() {
		f.start = f.now()
	}
	return nil
}

// Stop does nothing.
func (f *Fake) Stop() error { return nil }

// Reads is how many times Read was called.
func (f *Fake) Reads() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

func (f *Fake) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// Read returns PowerW and the energy since Start for every domain.
func (f *Fake) Read() (energy.Reading, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	if f.start.IsZero() {
		f.start = now
	}
	f.reads++
	src := f.Src
	if src == "" {
		src = energy.SourceNVMLCounter
	}
	uj := uint64(energy.EnergyFromJoules(f.PowerW * now.Sub(f.start).Seconds()))
	r := energy.Reading{Time: now}
	for _, d := range f.Domains() {
		r.Domains = append(r.Domains, energy.DomainReading{Domain: d, Source: src, EnergyUJ: uj, HasEnergy: true, PowerW: f.PowerW, HasPower: true})
	}
	return r, nil
}

// Warnings says the energy is estimated when the fake is labelled so.
func (f *Fake) Warnings() []results.Warning {
	if f.Src == energy.SourceEstimate {
		return []results.Warning{energy.EstimatedWarning("fake sampler")}
	}
	return nil
}
