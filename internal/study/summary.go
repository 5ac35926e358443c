package study

import (
	"fmt"
	"path/filepath"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/stats"
	"github.com/llenergymeasure/llem/results"
)

// finish builds the StudyResult from the manifest and the completed runs'
// result files and, unless writes are off, writes results.parquet and
// study_result.json.
func (r *runner) finish(stopReason string) (*results.StudyResult, error) {
	res, recs, readErrs := r.summarize(stopReason, "local")
	if r.opts.DisableWrites {
		res.ResultFiles = []string{}
		return res, joinReadErrs(readErrs)
	}
	if err := writeStudyResult(r.dir, res, recs); err != nil {
		return res, err
	}
	return res, joinReadErrs(readErrs)
}

// writeStudyResult writes results.parquet and study_result.json.
func writeStudyResult(dir string, res *results.StudyResult, recs []results.RunRecord) error {
	if err := results.RunTable(recs).WriteFile(filepath.Join(dir, results.ResultsParquetFile), results.FormatParquet); err != nil {
		return fmt.Errorf("run study: %w", err)
	}
	if err := results.WriteJSONAtomic(filepath.Join(dir, results.StudyResultFile), res); err != nil {
		return fmt.Errorf("run study: %w", err)
	}
	return nil
}

// summarize builds the StudyResult (runner is its Runner field), the
// records of results.parquet (every run of the manifest) and the errors met
// reading completed results back.
func (r *runner) summarize(stopReason, runnerName string) (*results.StudyResult, []results.RunRecord, []error) {
	m := r.store.m
	ex := r.sc.Execution
	cycles := max(ex.NCycles, 1)
	res := &results.StudyResult{
		SchemaVersion:   results.SchemaVersion,
		StudyID:         filepath.Base(r.dir),
		StudyName:       r.sc.Name,
		StudyFile:       r.sc.Path,
		StudyDesignHash: r.designHash,
		StartedAt:       m.CreatedAt,
		CompletedAt:     r.clock.Now().UTC(),
		Runner:          runnerName,
		MeasurementProtocol: results.MeasurementProtocol{
			NCycles: cycles, CycleOrder: string(ex.CycleOrder),
			ConfigGapSeconds: r.configGap, CycleGapSeconds: r.cycleGap,
			GapMode: gapMode(ex), GapsSkipped: r.opts.NoGaps,
			ExperimentTimeoutSeconds: r.timeout.Seconds(),
		},
		Skipped:     r.sc.Skipped,
		Failed:      []results.FailedRun{},
		ResultFiles: []string{},
		StopReason:  stopReason,
		Warnings:    r.warnings,
	}
	if res.Skipped == nil {
		res.Skipped = []config.SkippedConfig{}
	}
	if ex.CycleOrder == config.OrderShuffled {
		res.MeasurementProtocol.ShuffleSeed = int64(config.ShuffleSeed(r.sc))
	}
	if res.MeasurementProtocol.CycleOrder == "" {
		res.MeasurementProtocol.CycleOrder = string(config.OrderSequential)
	}

	skippedRuns := len(r.sc.Skipped) * cycles
	sum := results.StudySummary{Generated: len(m.Runs) + skippedRuns, Skipped: skippedRuns}
	var recs []results.RunRecord
	var readErrs []error
	perExp := make(map[int][]*results.ExperimentResult)
	failedPerExp := make(map[int]int)
	for _, mr := range m.Runs {
		rec := results.RunRecord{StudyName: r.sc.Name, Index: mr.Index, Cycle: mr.Cycle, MeasurementConfigHash: mr.MeasurementConfigHash,
			State: mr.State, ErrorType: mr.ErrorType, Error: mr.Error, ResultPath: mr.ResultPath}
		if mr.Experiment >= 0 && mr.Experiment < len(r.sc.Experiments) {
			rec.Config = &r.sc.Experiments[mr.Experiment]
		}
		switch mr.State {
		case results.StateCompleted:
			er, err := results.ReadExperimentResult(filepath.Join(r.dir, filepath.FromSlash(mr.ResultPath)))
			if err != nil {
				readErrs = append(readErrs, err)
				recs = append(recs, rec)
				continue
			}
			rec.Config, rec.Result = &er.Config, er
			perExp[mr.Experiment] = append(perExp[mr.Experiment], er)
			res.ResultFiles = append(res.ResultFiles, mr.ResultPath)
			sum.Completed++
		case results.StateFailed:
			sum.Failed++
			failedPerExp[mr.Experiment]++
			res.Failed = append(res.Failed, results.FailedRun{
				RunIndex: mr.Index, Cycle: mr.Cycle, MeasurementConfigHash: mr.MeasurementConfigHash,
				Config: r.sc.Experiments[mr.Experiment], ErrorType: mr.ErrorType, Message: mr.Error,
			})
		default:
			sum.Pending++
		}
		recs = append(recs, rec)
	}
	sum.Ran = sum.Completed + sum.Failed
	res.Summary = sum
	res.Interrupted = sum.Pending > 0
	hashes := make(map[int]string, len(r.sc.Experiments))
	for _, run := range r.plan {
		hashes[run.Experiment] = run.MeasurementConfigHash
	}
	for i, cfg := range r.sc.Experiments {
		cs := configSummary(cfg, hashes[i], perExp[i], failedPerExp[i])
		if i < len(r.sc.Origins) {
			cs.Swept = sweptValues(r.sc.Origins[i])
		}
		if w, ok := cycleVarianceWarning(cs); ok {
			res.Warnings = append(res.Warnings, w)
		}
		res.Configurations = append(res.Configurations, cs)
	}
	return res, recs, readErrs
}

func joinReadErrs(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("run study: %d completed results could not be read back (first: %w)", len(errs), errs[0])
}

func gapMode(ex config.Execution) string {
	if ex.GapMode == "" {
		return GapModeFixed
	}
	return ex.GapMode
}

// configSummary aggregates one configuration's completed runs across cycles.
func configSummary(cfg config.ExperimentConfig, hash string, rows []*results.ExperimentResult, failed int) results.ConfigSummary {
	cs := results.ConfigSummary{MeasurementConfigHash: hash, Config: cfg, Completed: len(rows), Failed: failed}
	// Every figure here but adjusted energy is non-negative by nature, so
	// its interval is clipped at zero (stats.SummarizeNonNegative).
	col := func(f func(*results.ExperimentResult) float64) results.Stat {
		return stat(rows, f, stats.SummarizeNonNegative)
	}
	signed := func(f func(*results.ExperimentResult) float64) results.Stat {
		return stat(rows, f, stats.Summarize)
	}

	for _, row := range rows {
		switch {
		case cs.EnergySource == "":
			cs.EnergySource = row.Energy.Source
		case cs.EnergySource != row.Energy.Source:
			cs.EnergySource = "mixed"
		}
	}
	cs.EnergyPerOutputTokenJ = col(func(r *results.ExperimentResult) float64 { return r.Energy.PerOutputTokenJ })
	cs.EnergyTotalJ = col(func(r *results.ExperimentResult) float64 { return r.Energy.TotalJ })
	cs.EnergyAdjustedJ = signed(func(r *results.ExperimentResult) float64 { return r.Energy.AdjustedJ })
	cs.OutputTokensPerS = col(func(r *results.ExperimentResult) float64 { return r.Throughput.OutputTokensPerS })
	cs.TTFTP50S = col(func(r *results.ExperimentResult) float64 { return r.Latency.TTFT.P50 })
	cs.ITLP50S = col(func(r *results.ExperimentResult) float64 { return r.Latency.ITL.P50 })
	cs.E2EP50S = col(func(r *results.ExperimentResult) float64 { return r.Latency.E2E.P50 })
	cs.AvgPowerW = col(func(r *results.ExperimentResult) float64 { return r.Energy.AvgPowerW })
	return cs
}

// stat summarises one figure of rows across cycles.
func stat(rows []*results.ExperimentResult, f func(*results.ExperimentResult) float64, summarize func([]float64) stats.Summary) results.Stat {
	xs := make([]float64, len(rows))
	for i, r := range rows {
		xs[i] = f(r)
	}
	s := summarize(xs)
	if s.N == 0 {
		return results.Stat{} // JSON cannot hold NaN
	}
	return results.Stat{N: s.N, Mean: s.Mean, Std: s.Std, CILow: s.CILow, CIHigh: s.CIHigh}
}

// sweptValues are the sweep axes that produced a configuration, by key.
func sweptValues(o config.Origin) map[string]any {
	if len(o.Swept) == 0 {
		return nil
	}
	m := make(map[string]any, len(o.Swept))
	for _, v := range o.Swept {
		m[v.Key] = v.Value
	}
	return m
}

// HighCycleCV is the coefficient of variation of energy per output token
// across cycles above which a configuration is flagged (MEA-6).
const HighCycleCV = 0.10

// cycleVarianceWarning flags a configuration whose energy per output token
// varies across cycles by more than HighCycleCV.
func cycleVarianceWarning(cs results.ConfigSummary) (results.Warning, bool) {
	e := cs.EnergyPerOutputTokenJ
	if e.N < 2 || e.Mean <= 0 {
		return results.Warning{}, false
	}
	cv := e.Std / e.Mean
	if cv <= HighCycleCV {
		return results.Warning{}, false
	}
	return results.Warning{
		Code: results.WarnHighCycleVariance,
		Message: fmt.Sprintf("configuration %s: energy per output token varies by %.0f%% (CV) across %d cycles (threshold %.0f%%); check for thermal drift, background load or too short runs",
			cs.MeasurementConfigHash, cv*100, e.N, HighCycleCV*100),
	}, true
}
