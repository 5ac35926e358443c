package stats

import (
	"math"
	"testing"
)

func TestPercentile(t *testing.T) {
	xs := []float64{15, 20, 35, 40, 50}
	cases := []struct{ p, want float64 }{
		{0, 15}, {25, 20}, {40, 29}, {50, 35}, {90, 46}, {100, 50},
	}
	for _, c := range cases {
		if got := Percentile(xs, c.p); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Percentile(%v) = %v, want %v", c.p, got, c.want)
		}
	}
	if !math.IsNaN(Percentile(nil, 50)) {
		t.Error("empty sample should give NaN")
	}
	if xs[0] != 15 || xs[4] != 50 {
		t.Error("input modified")
	}
}

func TestSummarize(t *testing.T) {
	s := Summarize([]float64{2, 4, 4, 4, 5, 5, 7, 9})
	if s.Mean != 5 {
		t.Errorf("mean %v", s.Mean)
	}
	if math.Abs(s.Std-2.138089935) > 1e-8 {
		t.Errorf("std %v", s.Std)
	}
	// t(7, 0.975) = 2.364624252
	half := 2.364624252 * s.Std / math.Sqrt(8)
	if math.Abs(s.CILow-(5-half)) > 1e-6 || math.Abs(s.CIHigh-(5+half)) > 1e-6 {
		t.Errorf("ci [%v, %v], want ±%v", s.CILow, s.CIHigh, half)
	}
	one := Summarize([]float64{3})
	if one.CILow != 3 || one.CIHigh != 3 || one.Std != 0 {
		t.Errorf("single value: %+v", one)
	}
}

func TestTCritical95(t *testing.T) {
	for df, want := range map[int]float64{1: 12.7062047, 2: 4.30265273, 30: 2.04227246} {
		if got := TCritical95(df); math.Abs(got-want) > 1e-6 {
			t.Errorf("df %d: %v want %v", df, got, want)
		}
	}
}

func TestBootstrapMeanCI95(t *testing.T) {
	xs := make([]float64, 200)
	for i := range xs {
		xs[i] = float64(i % 10)
	}
	lo, hi := BootstrapMeanCI95(xs, 1000, 1)
	if !(lo < 4.5 && hi > 4.5) || hi-lo > 1.5 || hi-lo < 0.2 {
		t.Errorf("interval [%v, %v] does not bracket the mean 4.5 sensibly", lo, hi)
	}
	lo2, hi2 := BootstrapMeanCI95(xs, 1000, 1)
	if lo != lo2 || hi != hi2 {
		t.Error("same seed gave different intervals")
	}
}

func TestCV(t *testing.T) {
	if got := CV([]float64{10, 10, 10}); got != 0 {
		t.Errorf("CV of constant = %v", got)
	}
	if got := CV([]float64{1, 3}); math.Abs(got-math.Sqrt2/2) > 1e-12 {
		t.Errorf("CV = %v", got)
	}
}

// TestSummarizeNonNegative checks that the interval of a quantity that
// cannot be negative stops at zero, says so, and is otherwise Summarize's.
func TestSummarizeNonNegative(t *testing.T) {
	tests := []struct {
		name    string
		xs      []float64
		clipped bool
	}{
		// Two noisy cycles: t(1) = 12.7 puts Summarize's lower end below 0.
		{"two noisy cycles", []float64{1.0, 1.4}, true},
		{"tight cycles", []float64{2, 2.1, 1.9, 2.05}, false},
		{"one cycle", []float64{3}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain := Summarize(tt.xs)
			got := SummarizeNonNegative(tt.xs)
			if got.LowClipped != tt.clipped {
				t.Errorf("clipped = %v, want %v (t-interval [%g, %g])", got.LowClipped, tt.clipped, plain.CILow, plain.CIHigh)
			}
			if got.CILow < 0 {
				t.Errorf("lower end %g < 0", got.CILow)
			}
			if got.Mean != plain.Mean || got.CIHigh != plain.CIHigh || (!tt.clipped && got.CILow != plain.CILow) {
				t.Errorf("SummarizeNonNegative = %+v, want Summarize's %+v with only the lower end raised to 0", got, plain)
			}
		})
	}
}
