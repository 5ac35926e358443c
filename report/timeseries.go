package report

import (
	"fmt"
	"slices"

	"github.com/parquet-go/parquet-go"

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

// timeseriesRow is the part of a run's timeseries.parquet the report uses.
// Every column but timestamp_s is optional here: files from other writers
// (the upstream GPU-only layout has no domain or power_w) still read.
type timeseriesRow struct {
	TimestampS  float64  `parquet:"timestamp_s"`
	Phase       *string  `parquet:"phase,optional"`
	Domain      *string  `parquet:"domain,optional"`
	DomainIndex *int32   `parquet:"domain_index,optional"`
	Source      *string  `parquet:"source,optional"`
	GPUIndex    *int32   `parquet:"gpu_index,optional"`
	GPUPowerW   *float64 `parquet:"gpu_power_w,optional"`
	PowerW      *float64 `parquet:"power_w,optional"`
}

// maxPowerRuns bounds how many runs the power-over-time plot shows.
const maxPowerRuns = 4

// readTimeseries reads the power samples of a time-series file, one series
// per domain, in order of first appearance.
func readTimeseries(path string) ([]PowerSeries, error) {
	rows, err := parquet.ReadFile[timeseriesRow](path)
	if err != nil {
		return nil, fmt.Errorf("read time series %s: %w", path, err)
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
		dom := domainName(r)
		i, ok := at[dom]
		if !ok {
			i = len(out)
			at[dom] = i
			ps := PowerSeries{Domain: dom}
			if r.Source != nil {
				ps.Source = *r.Source
				ps.Estimated = *r.Source == results.SourceEstimated
			}
			out = append(out, ps)
		}
		out[i].TimeS = append(out[i].TimeS, r.TimestampS)
		out[i].PowerW = append(out[i].PowerW, *w)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("time series %s has no power samples", path)
	}
	return out, nil
}

func domainName(r timeseriesRow) string {
	switch {
	case r.Domain != nil && *r.Domain != "":
		idx := int32(0)
		if r.DomainIndex != nil {
			idx = *r.DomainIndex
		}
		return fmt.Sprintf("%s%d", *r.Domain, idx)
	case r.GPUIndex != nil:
		return fmt.Sprintf("gpu%d", *r.GPUIndex)
	}
	return "device"
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
