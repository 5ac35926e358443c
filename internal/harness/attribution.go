package harness

import (
	"cmp"
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
//   - by the work in flight: the window cut at every token arrival, each
//     piece going to the tokens that arrive at its end, a first token
//     weighing its prompt (prefill) and a later one a decode step, the
//     piece's energy read from the window's cumulative energy curve.
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
// Times are offsets from origin, the window's start. The window is cut at
// every token arrival; each piece is the work that produced the tokens
// arriving at its end, split among them by what each cost: a request's
// first token its prompt (prefill), any later token one decode step.
func inFlightShares(comps []engine.Completion, origin time.Time, energyAt func(time.Duration) float64, total float64) (shares []float64, ok bool) {
	if len(comps) == 0 {
		return nil, false
	}
	type arrival struct {
		at     time.Duration
		req    int
		weight float64
	}
	var arrivals []arrival
	for i, c := range comps {
		if len(c.TokenTimes) == 0 {
			return nil, false
		}
		at := sinceOrigin(c, origin)
		for k, tt := range c.TokenTimes {
			w := 1.0
			if k == 0 {
				w = float64(max(c.PromptTokens, 1))
			}
			arrivals = append(arrivals, arrival{at + tt, i, w})
		}
	}
	slices.SortStableFunc(arrivals, func(a, b arrival) int { return cmp.Compare(a.at, b.at) })
	shares = make([]float64, len(comps))
	var prev time.Duration
	prevJ := energyAt(0)
	for lo := 0; lo < len(arrivals); {
		hi := lo
		var weight float64
		for hi < len(arrivals) && arrivals[hi].at == arrivals[lo].at {
			weight += arrivals[hi].weight
			hi++
		}
		at := arrivals[lo].at
		j := prevJ
		if at > prev {
			j = energyAt(at)
		}
		for _, a := range arrivals[lo:hi] {
			shares[a.req] += (j - prevJ) * a.weight / weight
		}
		prev, prevJ, lo = at, j, hi
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
