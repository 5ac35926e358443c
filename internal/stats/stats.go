// Package stats is llem's one place for summary statistics: percentiles,
// mean and standard deviation, Student-t confidence intervals across cycles
// and bootstrap intervals from per-request samples. Every package that
// summarises numbers calls these, so a p99 means the same everywhere.
package stats

import (
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// Percentile returns the p-th percentile (0–100) of xs with linear
// interpolation between closest ranks (numpy's default). It returns NaN for
// an empty sample. xs is not modified.
func Percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return sortedPercentile(s, p)
}

func sortedPercentile(s []float64, p float64) float64 {
	if p <= 0 {
		return s[0]
	}
	if p >= 100 {
		return s[len(s)-1]
	}
	rank := p / 100 * float64(len(s)-1)
	lo := int(math.Floor(rank))
	hi := int(math.Ceil(rank))
	frac := rank - float64(lo)
	return s[lo] + (s[hi]-s[lo])*frac
}

// Mean returns the arithmetic mean, NaN for an empty sample.
func Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

// StdDev returns the sample standard deviation (n-1), 0 for fewer than two values.
func StdDev(xs []float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	m := Mean(xs)
	var ss float64
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	return math.Sqrt(ss / float64(len(xs)-1))
}

// CV returns the coefficient of variation (std/mean), 0 when the mean is 0.
func CV(xs []float64) float64 {
	m := Mean(xs)
	if m == 0 || math.IsNaN(m) {
		return 0
	}
	return StdDev(xs) / math.Abs(m)
}

// Summary is a sample summarised with a 95% Student-t interval of the mean.
type Summary struct {
	N      int
	Mean   float64
	Std    float64
	CILow  float64
	CIHigh float64
	// LowClipped is true when SummarizeNonNegative raised the interval's
	// lower end to 0.
	LowClipped bool
}

// Summarize returns mean, sample std and the 95% t-interval of the mean.
// With one value the interval collapses to the value; with none every
// field but N is NaN.
func Summarize(xs []float64) Summary {
	n := len(xs)
	if n == 0 {
		nan := math.NaN()
		return Summary{Mean: nan, Std: nan, CILow: nan, CIHigh: nan}
	}
	m := Mean(xs)
	sd := StdDev(xs)
	half := 0.0
	if n > 1 {
		half = TCritical95(n-1) * sd / math.Sqrt(float64(n))
	}
	return Summary{N: n, Mean: m, Std: sd, CILow: m - half, CIHigh: m + half}
}

// SummarizeNonNegative is Summarize for a quantity that cannot be negative
// (energy, time, a rate): the interval's lower end is clipped at 0 and
// LowClipped says so.
//
// Clipping rather than a log-scale interval: the true mean is at least 0,
// so [max(0, low), high] holds it whenever [low, high] does, and coverage
// stays at least 95% for the same estimand, the arithmetic mean (the one
// that adds up to total energy). An interval computed on the log scale
// would be for the geometric mean instead, is undefined when a cycle
// measured 0, and rests on log-normality that two or three cycles cannot
// check.
func SummarizeNonNegative(xs []float64) Summary {
	s := Summarize(xs)
	if s.CILow < 0 {
		s.CILow, s.LowClipped = 0, true
	}
	return s
}

// TCritical95 is the two-sided 95% critical value of Student's t with df
// degrees of freedom.
func TCritical95(df int) float64 {
	if df < 1 {
		return math.NaN()
	}
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}.Quantile(0.975)
}

// BootstrapMeanCI95 returns the percentile-bootstrap 95% interval of the
// mean of xs from resamples draws, seeded for reproducibility.
func BootstrapMeanCI95(xs []float64, resamples int, seed uint64) (low, high float64) {
	n := len(xs)
	if n == 0 || resamples <= 0 {
		return math.NaN(), math.NaN()
	}
	rng := rand.New(rand.NewPCG(seed, 0x6c6c656d))
	means := make([]float64, resamples)
	for r := range means {
		var sum float64
		for range n {
			sum += xs[rng.IntN(n)]
		}
		means[r] = sum / float64(n)
	}
	slices.Sort(means)
	return sortedPercentile(means, 2.5), sortedPercentile(means, 97.5)
}
