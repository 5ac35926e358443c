package energy

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestEnergyString(t *testing.T) {
	tests := []struct {
		e    Energy
		want string
	}{
		{0, "0 µJ"},
		{999, "999 µJ"},
		{250 * Millijoule, "250 mJ"},
		{1500 * Millijoule, "1.5 J"},
		{12300 * Joule, "12.3 kJ"},
		{-2 * Joule, "-2 J"},
	}
	for _, tt := range tests {
		if got := tt.e.String(); got != tt.want {
			t.Errorf("Energy(%d).String() = %q, want %q", int64(tt.e), got, tt.want)
		}
	}
	if got := (3 * Joule).Joules(); got != 3 {
		t.Errorf("Joules() = %v, want 3", got)
	}
	if got := EnergyFromJoules(0.0000015); got != 2 {
		t.Errorf("EnergyFromJoules rounds to µJ: got %d, want 2", got)
	}
	if got := (10 * Joule).Power(2 * time.Second); got != 5 {
		t.Errorf("Power = %v, want 5 W", got)
	}
}

func TestCounterDelta(t *testing.T) {
	tests := []struct {
		name           string
		prev, cur, max uint64
		want           Energy
		wantErr        error
		wantErrNonNil  bool
	}{
		{name: "forward", prev: 100, cur: 350, max: 1000, want: 250},
		{name: "equal", prev: 5, cur: 5, max: 1000, want: 0},
		{name: "wrap", prev: 900, cur: 100, max: 1000, want: 200},
		{name: "wrap at exact max", prev: 1000, cur: 0, max: 1000, want: 0},
		{name: "real rapl range", prev: 262143328850 - 1_000_000, cur: 2_000_000, max: 262143328850, want: 3_000_000},
		{name: "no wrap range is reset", prev: 900, cur: 100, max: 0, wantErr: ErrCounterReset},
		{name: "prev above range", prev: 2000, cur: 100, max: 1000, wantErrNonNil: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CounterDelta(tt.prev, tt.cur, tt.max)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			case tt.wantErrNonNil:
				if err == nil {
					t.Fatalf("want an error, got %v", got)
				}
			default:
				if err != nil || got != tt.want {
					t.Fatalf("CounterDelta = %v, %v; want %v", got, err, tt.want)
				}
			}
		})
	}
}

// sampleCurve samples p(t) every step over [0, span].
func sampleCurve(t0 time.Time, span, step time.Duration, p func(s float64) float64) []PowerPoint {
	var ps []PowerPoint
	for d := time.Duration(0); d <= span; d += step {
		ps = append(ps, PowerPoint{Time: t0.Add(d), Watts: p(d.Seconds())})
	}
	return ps
}

func TestIntegrateKnownCurves(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		p        func(s float64) float64
		span     time.Duration
		step     time.Duration
		from, to time.Duration
		wantJ    float64
	}{
		{name: "constant 200 W for 10 s", p: func(float64) float64 { return 200 }, span: 10 * time.Second, step: time.Second, to: 10 * time.Second, wantJ: 2000},
		{name: "ramp exact for trapezoid", p: func(s float64) float64 { return 50 + 10*s }, span: 10 * time.Second, step: 700 * time.Millisecond, to: 9100 * time.Millisecond, wantJ: 50*9.1 + 5*9.1*9.1},
		{name: "quadratic at 1 Hz", p: func(s float64) float64 { return 100 + 3*s*s }, span: 60 * time.Second, step: time.Second, to: 60 * time.Second, wantJ: 100*60 + 60*60*60},
		{name: "sine GPU load at 10 Hz", p: func(s float64) float64 { return 250 + 100*math.Sin(2*math.Pi*s/7) }, span: 30 * time.Second, step: 100 * time.Millisecond, to: 30 * time.Second,
			wantJ: 250*30 + 100*7/(2*math.Pi)*(1-math.Cos(2*math.Pi*30/7))},
		{name: "window inside samples, interpolated edges", p: func(s float64) float64 { return 10 * s }, span: 10 * time.Second, step: time.Second, from: 2500 * time.Millisecond, to: 7250 * time.Millisecond,
			wantJ: 5 * (7.25*7.25 - 2.5*2.5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := sampleCurve(t0, tt.span, tt.step, tt.p)
			got, covered := Integrate(ps, t0.Add(tt.from), t0.Add(tt.to))
			if rel := math.Abs(got.Joules()-tt.wantJ) / tt.wantJ; rel > 0.001 {
				t.Errorf("Integrate = %.6f J, want %.6f J (rel err %.2e > 0.1%%)", got.Joules(), tt.wantJ, rel)
			}
			if want := tt.to - tt.from; covered != want {
				t.Errorf("covered = %v, want %v", covered, want)
			}
		})
	}
}

func TestIntegrateEdges(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ps := []PowerPoint{{t0.Add(2 * time.Second), 10}, {t0, 10}, {t0.Add(time.Second), 10}} // unsorted
	e, cov := Integrate(ps, t0.Add(-time.Second), t0.Add(5*time.Second))
	if e != 20*Joule || cov != 2*time.Second {
		t.Errorf("window past samples: got %v over %v, want 20 J over 2s (no extrapolation)", e, cov)
	}
	if e, cov := Integrate(ps[:1], t0, t0.Add(time.Second)); e != 0 || cov != 0 {
		t.Errorf("one point: got %v, %v; want nothing covered", e, cov)
	}
	if e, _ := Integrate(ps, t0.Add(time.Second), t0.Add(time.Second)); e != 0 {
		t.Errorf("empty window: got %v", e)
	}
	if ps[0].Time != t0.Add(2*time.Second) {
		t.Error("Integrate reordered the caller's slice")
	}
}

func TestBaselineHelpers(t *testing.T) {
	if got := BaselineEnergy(15, 2*time.Second); got != 30*Joule {
		t.Errorf("BaselineEnergy = %v, want 30 J", got)
	}
	if got := RelativeDifference(100*Joule, 95*Joule); math.Abs(got-0.05) > 1e-12 {
		t.Errorf("RelativeDifference = %v, want 0.05", got)
	}
	if got := RelativeDifference(0, 0); got != 0 {
		t.Errorf("RelativeDifference(0,0) = %v", got)
	}
}

func TestEnergyFractionAt(t *testing.T) {
	s := time.Second
	pts := []EnergyPoint{{0, 0}, {s, 100}, {2 * s, 300}}
	for _, tc := range []struct {
		pts  []EnergyPoint
		at   time.Duration
		want float64
	}{
		{pts, s / 2, 50.0 / 300},
		{pts, 3 * s / 2, 200.0 / 300},
		{pts, s, 100.0 / 300},
		{pts, -s, 0},
		{pts, 3 * s, 1},
		// No reading inside: proportional to time.
		{[]EnergyPoint{{0, 0}, {2 * s, 300}}, s / 2, 0.25},
		// No energy: proportional to time too.
		{[]EnergyPoint{{0, 0}, {2 * s, 0}}, s / 2, 0.25},
		{nil, s, 0},
	} {
		if got := EnergyFractionAt(tc.pts, tc.at); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("EnergyFractionAt(%v, %v) = %g, want %g", tc.pts, tc.at, got, tc.want)
		}
	}
}
