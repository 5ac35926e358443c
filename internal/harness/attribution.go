package harness

import (
	"math"
	"slices"
	"time"

	"github.com/llenergymeasure/llem/internal/energy"
	"github.com/llenergymeasure/llem/internal/engine"
	"github.com/llenergymeasure/llem/results"
)

// Two ways to give each request its share of a batch window's energy:
//
//   - pro-rated by output tokens (the ML.ENERGY benchmark's rule): a
//     request's share is its output tokens over the batch's;
//   - by the work in flight: prefill, from the batch's start to its first
//     token, by prompt tokens; then each interval between consecutive
//     token arrivals split equally among the requests still generating
//     (a decode step adds one token to each), the interval's energy read
//     from the window's cumulative energy curve.
//
// Both are stored per request; summarizeAttribution compares them.

// energyCurve is a batch window's cumulative energy at an offset from its
// start, in joules: each domain's energy times its share spent by then.
func energyCurve(b batchWindow) func(time.Duration) float64 {
	return func(t time.Duration) float64 {
		var j float64
		for _, d := range b.Domains {
			j += d.TotalJ * energy.EnergyFractionAt(d.Cumulative, t)
		}
		return j
	}
}

// sinceOrigin is how long after origin (a batch window's start) c was
// submitted: its token times are offsets from its own submission, which a
// server load staggers. Zero when either time is unknown.
func sinceOrigin(c engine.Completion, origin time.Time) time.Duration {
	if c.Start.IsZero() || origin.IsZero() {
		return 0
	}
	return max(c.Start.Sub(origin), 0)
}

// inFlightShares is each completion's energy by the work it had in flight,
// summing to total; ok is false when a completion has no token times.
// Times are offsets from origin, the window's start.
func inFlightShares(comps []engine.Completion, origin time.Time, energyAt func(time.Duration) float64, total float64) (shares []float64, ok bool) {
	if len(comps) == 0 {
		return nil, false
	}
	first, last := make([]time.Duration, len(comps)), make([]time.Duration, len(comps))
	var times []time.Duration
	for i, c := range comps {
		if len(c.TokenTimes) == 0 {
			return nil, false
		}
		at := sinceOrigin(c, origin)
		first[i], last[i] = at+c.TokenTimes[0], at+c.TokenTimes[len(c.TokenTimes)-1]
		for _, tt := range c.TokenTimes {
			times = append(times, at+tt)
		}
	}
	slices.Sort(times)
	times = slices.Compact(times)
	shares = make([]float64, len(comps))

	// Prefill: up to the batch's first token, by prompt tokens.
	start := times[0]
	prefill := energyAt(start)
	var prompt int
	for _, c := range comps {
		prompt += c.PromptTokens
	}
	for i, c := range comps {
		if prompt > 0 {
			shares[i] += prefill * float64(c.PromptTokens) / float64(prompt)
		} else {
			shares[i] += prefill / float64(len(comps))
		}
	}
	// Decode: each interval to the next token arrival, equally among the
	// requests generating across it (first token at or before its start,
	// last at or after its end); none such (a request still in its own
	// prefill) means every unfinished request.
	active := make([]int, 0, len(comps))
	for k := 1; k < len(times); k++ {
		a, b := times[k-1], times[k]
		e := energyAt(b) - energyAt(a)
		active = active[:0]
		for i := range comps {
			if first[i] <= a && last[i] >= b {
				active = append(active, i)
			}
		}
		if len(active) == 0 {
			for i := range comps {
				if last[i] >= b {
					active = append(active, i)
				}
			}
		}
		for _, i := range active {
			shares[i] += e / float64(len(active))
		}
	}
	// The window's tail after the last token (the engine returning) goes
	// in proportion to what each already had, so the shares sum to total.
	var sum float64
	for _, s := range shares {
		sum += s
	}
	for i := range shares {
		if sum > 0 {
			shares[i] *= total / sum
		} else {
			shares[i] = total / float64(len(shares))
		}
	}
	return shares, true
}

// summarizeAttribution compares the two attributions over the requests
// that have both; nil when none has.
func summarizeAttribution(reqs []results.RequestRecord) *results.AttributionSummary {
	var s results.AttributionSummary
	var sum float64
	for _, r := range reqs {
		if r.EnergyInFlightJ == nil || r.EnergyJ <= 0 {
			continue
		}
		d := 100 * math.Abs(*r.EnergyInFlightJ-r.EnergyJ) / r.EnergyJ
		s.N++
		sum += d
		s.MaxAbsDifferencePct = max(s.MaxAbsDifferencePct, d)
	}
	if s.N == 0 {
		return nil
	}
	s.MeanAbsDifferencePct = sum / float64(s.N)
	return &s
}
