package energy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Recorder intervals.
const (
	DefaultInterval = time.Second
	MinInterval     = 10 * time.Millisecond
	// DefaultPathTolerance is how far (relative) the counter and integrated
	// energy of a window may differ before a warning.
	DefaultPathTolerance = 0.05
)

// Phase tags samples with the part of the run they belong to, so warm-up
// samples can be excluded.
type Phase string

// Phases.
const (
	PhaseIdle     Phase = "idle"
	PhaseBaseline Phase = "baseline"
	PhaseWarmup   Phase = "warmup"
	// PhaseThermalFloor is the wait after warm-up until the thermal floor
	// has passed: no work runs, so it is not warm-up, and its samples show
	// the device settling before measurement.
	PhaseThermalFloor Phase = "thermal_floor"
	PhaseMeasure      Phase = "measure"
)

// RecorderOptions configures a Recorder; the zero value is usable.
type RecorderOptions struct {
	// Interval between periodic samples: DefaultInterval when 0, at least
	// MinInterval.
	Interval time.Duration
	// PathTolerance is the relative difference between the two energy paths
	// above which a window warns; DefaultPathTolerance when 0.
	PathTolerance float64
	// Now is the clock; time.Now when nil (tests pass a fake clock).
	Now func() time.Time
}

// Sample is one instant of the time series: every domain of every sampler.
type Sample struct {
	Time time.Time
	// Elapsed is the time since the recorder started.
	Elapsed time.Duration
	Phase   Phase
	// TokensPerSec is the rate of tokens added with AddTokens since the
	// previous sample.
	TokensPerSec float64
	Domains      []SampleDomain
}

// SampleDomain is one domain in a Sample.
type SampleDomain struct {
	Domain Domain
	Source Source
	// CumulativeEnergy is the energy since the recorder started: summed
	// counter deltas (wrap-around handled) or, for power-only sources, the
	// running trapezoid integral.
	CumulativeEnergy Energy
	PowerW           float64
	HasPower         bool
	// PowerDerived is true when PowerW is not a sensor reading but the
	// counter delta over the time since the previous sample.
	PowerDerived    bool
	TempC           float64
	HasTemp         bool
	UtilizationPct  float64
	MemoryUsedMB    float64
	HasGPUStats     bool
	ThrottleReasons uint64
	SMClockMHz      uint32
}

// domainState carries one domain's counter between samples.
type domainState struct {
	hasCounter bool
	lastUJ     uint64
	lastT      time.Time
	lastPower  float64
	hasPower   bool
	seen       bool
	cum        Energy
	period     time.Duration
}

// Recorder samples samplers periodically on its own goroutine, keeps the
// series in memory and measures energy windows. Its methods are safe for
// concurrent use.
type Recorder struct {
	samplers  []Sampler
	interval  time.Duration
	tolerance float64
	now       func() time.Time

	mu         sync.Mutex
	started    time.Time
	phase      Phase
	series     []Sample
	state      map[Domain]*domainState
	tokens     int
	lastSample time.Time
	readErrs   []error

	stop chan struct{}
	done chan struct{}
}

// NewRecorder returns a recorder over samplers (at least one).
func NewRecorder(samplers []Sampler, opts RecorderOptions) (*Recorder, error) {
	if len(samplers) == 0 {
		return nil, errors.New("recorder needs at least one sampler")
	}
	iv := opts.Interval
	if iv == 0 {
		iv = DefaultInterval
	}
	if iv < MinInterval {
		return nil, fmt.Errorf("sampling interval %v is below the minimum %v", iv, MinInterval)
	}
	tol := opts.PathTolerance
	if tol <= 0 {
		tol = DefaultPathTolerance
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Recorder{samplers: samplers, interval: iv, tolerance: tol, now: now, phase: PhaseIdle, state: map[Domain]*domainState{}}, nil
}

// Interval is the periodic sampling interval.
func (r *Recorder) Interval() time.Duration { return r.interval }

// Start starts the samplers, takes the first sample and starts sampling
// every Interval until Stop or until ctx ends.
func (r *Recorder) Start(ctx context.Context) error {
	r.mu.Lock()
	if r.stop != nil {
		r.mu.Unlock()
		return errors.New("recorder already started")
	}
	for i, s := range r.samplers {
		if err := s.Start(ctx); err != nil {
			for _, prev := range r.samplers[:i] {
				_ = prev.Stop()
			}
			r.mu.Unlock()
			return fmt.Errorf("start %s sampler: %w", s.Name(), err)
		}
	}
	r.started = r.now()
	r.stop, r.done = make(chan struct{}), make(chan struct{})
	r.sampleLocked()
	r.mu.Unlock()
	go r.loop(ctx)
	return nil
}

func (r *Recorder) loop(ctx context.Context) {
	defer close(r.done)
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.stop:
			return
		case <-t.C:
			r.mu.Lock()
			r.sampleLocked()
			r.mu.Unlock()
		}
	}
}

// Stop ends sampling, takes a last sample and stops the samplers. It
// returns the samplers' stop errors joined.
func (r *Recorder) Stop() error {
	r.mu.Lock()
	if r.stop == nil {
		r.mu.Unlock()
		return errors.New("recorder not started")
	}
	select {
	case <-r.stop:
		r.mu.Unlock()
		return nil // already stopped
	default:
	}
	close(r.stop)
	r.mu.Unlock()
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sampleLocked()
	var errs []error
	for _, s := range r.samplers {
		if err := s.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stop %s sampler: %w", s.Name(), err))
		}
	}
	return errors.Join(errs...)
}

// Mark tags the samples taken from now on with phase.
func (r *Recorder) Mark(phase Phase) {
	r.mu.Lock()
	r.phase = phase
	r.mu.Unlock()
}

// Phase is the current phase.
func (r *Recorder) Phase() Phase {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.phase
}

// AddTokens counts n generated tokens towards the next sample's
// tokens_per_sec.
func (r *Recorder) AddTokens(n int) {
	r.mu.Lock()
	r.tokens += n
	r.mu.Unlock()
}

// Sample takes a sample now and returns it.
func (r *Recorder) Sample() Sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sampleLocked()
}

// Latest returns the last sample taken, without taking one; false before
// the first.
func (r *Recorder) Latest() (Sample, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.series) == 0 {
		return Sample{}, false
	}
	return r.series[len(r.series)-1], true
}

// Samples returns a copy of the series, only the given phases if any.
func (r *Recorder) Samples(phases ...Phase) []Sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Sample, 0, len(r.series))
	for _, s := range r.series {
		if len(phases) == 0 || slices.Contains(phases, s.Phase) {
			out = append(out, s)
		}
	}
	return out
}

// ReadErrors returns the errors of failed sampler reads (a failed read
// leaves its domains out of that sample; the counters carry on).
func (r *Recorder) ReadErrors() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.readErrs...)
}

// sampleLocked reads every sampler and appends a sample; r.mu is held.
func (r *Recorder) sampleLocked() Sample {
	now := r.now()
	s := Sample{Time: now, Elapsed: now.Sub(r.started), Phase: r.phase, Domains: make([]SampleDomain, 0, len(r.state))}
	if !r.lastSample.IsZero() {
		if dt := now.Sub(r.lastSample).Seconds(); dt > 0 {
			s.TokensPerSec = float64(r.tokens) / dt
		}
	}
	r.tokens, r.lastSample = 0, now
	for _, sm := range r.samplers {
		rd, err := sm.Read()
		if err != nil {
			if len(r.readErrs) < 100 {
				r.readErrs = append(r.readErrs, fmt.Errorf("%s read at %v: %w", sm.Name(), s.Elapsed, err))
			}
			continue
		}
		period := sensorPeriod(sm)
		for _, d := range rd.Domains {
			s.Domains = append(s.Domains, r.update(d, now, period))
		}
	}
	r.series = append(r.series, s)
	return s
}

func sensorPeriod(s Sampler) time.Duration {
	if p, ok := s.(SensorPeriodic); ok {
		return p.SensorPeriod()
	}
	return 0
}

// update folds one domain reading taken at t into the domain's running
// state. The recorder's clock, not the reading's, times it, so that the
// window edges, the derived power and the integral share one time base.
func (r *Recorder) update(d DomainReading, t time.Time, period time.Duration) SampleDomain {
	st := r.state[d.Domain]
	if st == nil {
		st = &domainState{}
		r.state[d.Domain] = st
	}
	st.period = period
	sd := SampleDomain{Domain: d.Domain, Source: d.Source, PowerW: d.PowerW, HasPower: d.HasPower,
		TempC: d.TempC, HasTemp: d.HasTemp, UtilizationPct: d.UtilizationPct, MemoryUsedMB: d.MemoryUsedMB,
		HasGPUStats: d.HasGPUStats, ThrottleReasons: d.ThrottleReasons, SMClockMHz: d.SMClockMHz}
	dt := t.Sub(st.lastT)
	switch {
	case d.HasEnergy:
		if st.seen && st.hasCounter {
			delta, err := CounterDelta(st.lastUJ, d.EnergyUJ, d.MaxEnergyUJ)
			if err != nil {
				if len(r.readErrs) < 100 {
					r.readErrs = append(r.readErrs, fmt.Errorf("%s: %w", domainLabel(d.Domain), err))
				}
				delta = 0 // a reset: restart the counter from here, losing nothing already summed
			}
			st.cum += delta
			// A counter moves at most once per sensor period, so power is
			// derived over at least one period, and not at all from a
			// reading taken before the next update was due: over a shorter
			// interval (a window edge read right after a periodic sample) a
			// coarse counter's step, such as the estimate's CPU-time tick,
			// showed as an estimated 186 W peak on a 2-core VM whose estimate
			// cannot pass 8 W, and the readings between steps as 0 W.
			if span := max(dt, period); !sd.HasPower && dt > 0 && (delta > 0 || dt >= period) {
				sd.PowerW, sd.HasPower, sd.PowerDerived = delta.Power(span), true, true
			}
		}
		st.hasCounter, st.lastUJ = true, d.EnergyUJ
	case d.HasPower:
		if st.seen && st.hasPower && dt > 0 {
			st.cum += EnergyFromJoules((st.lastPower + d.PowerW) / 2 * dt.Seconds())
		}
	}
	if d.HasPower {
		st.lastPower, st.hasPower = d.PowerW, true
	}
	st.seen, st.lastT = true, t
	sd.CumulativeEnergy = st.cum
	return sd
}

// Window is an open measurement window; Close it to get its energy.
type Window struct {
	r     *Recorder
	open  Sample
	index int // index of the open sample in the series
}

// OpenWindow reads every sampler now and opens a window there.
func (r *Recorder) OpenWindow() *Window {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sampleLocked()
	return &Window{r: r, open: s, index: len(r.series) - 1}
}

// WindowResult is the energy of one window, per domain.
type WindowResult struct {
	Start, End time.Time
	Duration   time.Duration
	// Tolerance is the path tolerance the window was checked against.
	Tolerance float64
	Domains   []DomainWindow
}

// DomainWindow is one domain's energy over a window.
type DomainWindow struct {
	Domain Domain
	Source Source
	// Energy is the figure to use: the counter delta where there is a
	// counter, else the integral of sampled power.
	Energy Energy
	// CounterEnergy is the counter delta between the readings at open and
	// close (wrap-around handled), when the source has a counter.
	CounterEnergy Energy
	HasCounter    bool
	// IntegratedEnergy is the trapezoid integral of sensor power samples
	// over the window (derived power does not count: it is the counter).
	IntegratedEnergy Energy
	HasIntegrated    bool
	// PathDifference is the relative difference of the two paths when both
	// exist; PathsDisagree is set when it exceeds the tolerance.
	PathDifference float64
	PathsDisagree  bool
	// TooShort flags a window shorter than the sensor's update period, or
	// one over which the figure did not move: its energy is unreliable.
	TooShort     bool
	SensorPeriod time.Duration
	AvgPowerW    float64
	PeakPowerW   float64
	Samples      int
	// Cumulative is the domain's energy since the window opened at each
	// reading inside it, the open and close readings included: what
	// splitting the window at an instant interpolates (EnergyFractionAt).
	Cumulative []EnergyPoint
}

// Close reads every sampler now and returns the window's energy per
// domain. Close it after the engine reports the device idle.
func (w *Window) Close() WindowResult {
	r := w.r
	r.mu.Lock()
	defer r.mu.Unlock()
	closeS := r.sampleLocked()
	within := r.series[w.index:]
	res := WindowResult{Start: w.open.Time, End: closeS.Time, Duration: closeS.Time.Sub(w.open.Time), Tolerance: r.tolerance}
	for _, od := range w.open.Domains {
		// The close reading, or the last one inside the window if the read
		// at close failed.
		cd, ok := lastReading(within[1:], od.Domain)
		if !ok {
			cd = od
		}
		st := r.state[od.Domain]
		dw := DomainWindow{Domain: od.Domain, Source: od.Source, SensorPeriod: st.period}
		var pts []PowerPoint
		for _, s := range within {
			d, ok := findDomain(s.Domains, od.Domain)
			if ok {
				dw.Cumulative = append(dw.Cumulative, EnergyPoint{At: s.Time.Sub(res.Start), Energy: d.CumulativeEnergy - od.CumulativeEnergy})
			}
			if !ok || !d.HasPower {
				continue
			}
			dw.Samples++
			if d.PowerW > dw.PeakPowerW {
				dw.PeakPowerW = d.PowerW
			}
			if !d.PowerDerived {
				pts = append(pts, PowerPoint{Time: s.Time, Watts: d.PowerW})
			}
		}
		cumDelta := cd.CumulativeEnergy - od.CumulativeEnergy
		if st.hasCounter {
			dw.CounterEnergy, dw.HasCounter = cumDelta, true
		}
		if len(pts) >= 2 {
			dw.IntegratedEnergy, _ = Integrate(pts, res.Start, res.End)
			dw.HasIntegrated = true
		}
		switch {
		case dw.HasCounter:
			dw.Energy = dw.CounterEnergy
		case dw.HasIntegrated:
			dw.Energy = dw.IntegratedEnergy
		default:
			dw.Energy = cumDelta
		}
		if dw.HasCounter && dw.HasIntegrated {
			dw.PathDifference = RelativeDifference(dw.CounterEnergy, dw.IntegratedEnergy)
			dw.PathsDisagree = dw.PathDifference > r.tolerance
		}
		dw.TooShort = res.Duration < dw.SensorPeriod || dw.Energy == 0
		dw.AvgPowerW = dw.Energy.Power(res.Duration)
		res.Domains = append(res.Domains, dw)
	}
	return res
}

// lastReading is domain d in the latest of samples that has it.
func lastReading(samples []Sample, d Domain) (SampleDomain, bool) {
	for i := len(samples) - 1; i >= 0; i-- {
		if x, ok := findDomain(samples[i].Domains, d); ok {
			return x, true
		}
	}
	return SampleDomain{}, false
}

func findDomain(ds []SampleDomain, d Domain) (SampleDomain, bool) {
	for _, x := range ds {
		if x.Domain == d {
			return x, true
		}
	}
	return SampleDomain{}, false
}

// Total is the sum of the window's domain energies.
func (w WindowResult) Total() Energy {
	var e Energy
	for _, d := range w.Domains {
		e += d.Energy
	}
	return e
}
