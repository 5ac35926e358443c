package openai

import (
	"math/rand/v2"
	"time"
)

// A Pacer says how long to wait before sending the next request, given the
// time elapsed since the run began and the number of requests already sent.
// It is a pure function of its arguments, so schedules are tested without
// sleeping.
type Pacer interface {
	Pace(elapsed time.Duration, sent int) time.Duration
}

// ConstantPacer sends Rate requests per second, evenly spaced, the first at
// once.
type ConstantPacer struct{ Rate float64 }

// Pace implements Pacer.
func (p ConstantPacer) Pace(elapsed time.Duration, sent int) time.Duration {
	due := time.Duration(float64(sent) / p.Rate * float64(time.Second))
	return max(0, due-elapsed)
}

// PoissonPacer sends requests at the arrival times of a Poisson process
// (exponential gaps with mean 1/rate), drawn once from a seed: the same
// seed gives the same schedule. The first request is due at once.
type PoissonPacer struct {
	arrivals []time.Duration
}

// NewPoissonPacer draws the arrival times of n requests at rate requests
// per second.
func NewPoissonPacer(rate float64, n int, seed int64) *PoissonPacer {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6c6c656d)) // "llem"
	p := &PoissonPacer{arrivals: make([]time.Duration, n)}
	var t float64
	for i := 1; i < n; i++ {
		t += rng.ExpFloat64() / rate
		p.arrivals[i] = time.Duration(t * float64(time.Second))
	}
	return p
}

// Pace implements Pacer. Past the drawn schedule it sends at once.
func (p *PoissonPacer) Pace(elapsed time.Duration, sent int) time.Duration {
	if sent >= len(p.arrivals) {
		return 0
	}
	return max(0, p.arrivals[sent]-elapsed)
}
