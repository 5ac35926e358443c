package harness

import (
	"slices"
	"time"

	"github.com/llenergymeasure/llem/internal/engine"
	"github.com/llenergymeasure/llem/results"
)

// steadyWindow is the part of a batch where the requests in flight stood
// at their peak, the ML.ENERGY benchmark's steady state for a serving
// load: from the first time the count reaches the peak to the last time it
// falls from it, before the load drains. Times are offsets from origin (the
// window's start). ok is false when the peak is below 2 requests or lasts
// no time.
func steadyWindow(comps []engine.Completion, origin time.Time) (from, to time.Duration, level int, ok bool) {
	type change struct {
		at    time.Duration
		delta int
	}
	var changes []change
	for _, c := range comps {
		at := sinceOrigin(c, origin)
		changes = append(changes, change{at, +1}, change{at + c.End, -1})
	}
	// At equal times a request ends before another starts: the count
	// never overstates what was in flight.
	slices.SortFunc(changes, func(a, b change) int {
		if a.at != b.at {
			return int(a.at - b.at)
		}
		return a.delta - b.delta
	})
	n := 0
	for _, ch := range changes {
		n += ch.delta
		level = max(level, n)
	}
	if level < 2 {
		return 0, 0, level, false
	}
	n, from = 0, -1
	for _, ch := range changes {
		was := n
		n += ch.delta
		if n == level && from < 0 {
			from = ch.at
		}
		if was == level && n < level {
			to = ch.at
		}
	}
	return from, to, level, to > from
}

// steadyState sums the batches' steady windows: their energy (read from
// each window's cumulative energy curve), duration and the output tokens
// that arrived inside them. nil when no batch has one.
func steadyState(batches []batchWindow) *results.SteadyStateEnergy {
	var s results.SteadyStateEnergy
	found := false
	for _, b := range batches {
		from, to, level, ok := steadyWindow(b.Completions, b.Start)
		if !ok {
			continue
		}
		found = true
		curve := energyCurve(b)
		s.EnergyJ += curve(to) - curve(from)
		s.DurationS += (to - from).Seconds()
		s.Concurrency = max(s.Concurrency, level)
		for _, c := range b.Completions {
			at := sinceOrigin(c, b.Start)
			for _, tt := range c.TokenTimes {
				if t := at + tt; t > from && t <= to {
					s.OutputTokens++
				}
			}
		}
	}
	if !found {
		return nil
	}
	if s.OutputTokens > 0 {
		s.PerOutputTokenJ = s.EnergyJ / float64(s.OutputTokens)
	}
	return &s
}
