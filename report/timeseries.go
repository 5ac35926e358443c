package report

import (
	"fmt"
	"slices"

	"github.com/llenergymeasure/llem/results"
)

// PowerSeries is the power of one domain of one run over time.
type PowerSeries struct {
	ConfigID  string
	RunIndex  int
	Cycle     int
	Domain    string // e.g. "gpu0", "cpu_package0"
	Source    string
	Estimated bool
	TimeS     []float64
	PowerW    []float64
}

// Name labels the series in a legend, e.g. "C3 c1 gpu0".
func (p PowerSeries) Name() string {
	n := fmt.Sprintf("%s c%d %s", p.ConfigID, p.Cycle, p.Domain)
	if p.Estimated {
		n += " ≈ est."
	}
	return n
}

// maxPowerRuns bounds how many runs the power-over-time plot shows.
const maxPowerRuns = 4

// readTimeseries reads the power samples of a time-series file, one series
// per domain, in order of first appearance.
func readTimeseries(path string) ([]PowerSeries, error) {
	rows, err := results.ReadTimeseries(path)
	if err != nil {
		return nil, err
	}
	var out []PowerSeries
	at := make(map[string]int)
	for _, r := range rows {
		w := r.PowerW
		if w == nil {
			w = r.GPUPowerW
		}
		if w == nil {
			continue
		}
		dom := "device"
		if r.Domain != "" {
			dom = fmt.Sprintf("%s%d", r.Domain, r.DomainIndex)
		}
		i, ok := at[dom]
		if !ok {
			i = len(out)
			at[dom] = i
			out = append(out, PowerSeries{Domain: dom, Source: r.Source, Estimated: r.Source == results.SourceEstimated})
		}
		out[i].TimeS = append(out[i].TimeS, r.ElapsedS)
		out[i].PowerW = append(out[i].PowerW, *w)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("time series %s has no power samples", path)
	}
	return out, nil
}

// powerSeries reads the time series of the runs to plot: the first
// completed cycle of each frontier configuration, at most maxPowerRuns.
// Unreadable files are added to problems.
func powerSeries(s *Study, rep *Report, problems []string) ([]PowerSeries, []string) {
	var out []PowerSeries
	for _, id := range rep.Frontier {
		if len(out) > 0 && countRuns(out) >= maxPowerRuns {
			break
		}
		i := slices.IndexFunc(rep.Configs, func(c ConfigRow) bool { return c.ID == id })
		c := rep.Configs[i]
		first := slices.MinFunc(c.Cycles, func(a, b CyclePoint) int { return a.Cycle - b.Cycle })
		run := runByIndex(s.Runs, first.RunIndex)
		path := s.TimeseriesPath(run)
		if path == "" {
			continue
		}
		series, err := readTimeseries(path)
		if err != nil {
			problems = append(problems, fmt.Sprintf("run %d: %v", run.Index, err))
			continue
		}
		for _, ps := range series {
			ps.ConfigID, ps.RunIndex, ps.Cycle = id, run.Index, run.Cycle
			ps.Estimated = ps.Estimated || c.Estimated && ps.Source == ""
			out = append(out, ps)
		}
	}
	return out, problems
}

func countRuns(series []PowerSeries) int {
	var runs []int
	for _, s := range series {
		if !slices.Contains(runs, s.RunIndex) {
			runs = append(runs, s.RunIndex)
		}
	}
	return len(runs)
}
