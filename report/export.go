package report

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"slices"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/llenergymeasure/llem/internal/energy"
	"github.com/llenergymeasure/llem/results"
)

// Export tables.
const (
	TableRuns       = "runs"
	TableTimeseries = "timeseries"
)

// ExportTables are the tables ExportTable writes.
var ExportTables = []string{TableRuns, TableTimeseries}

// Export writes the study's run table (results.RunTable: one row per run,
// failed and pending runs with null metrics) as parquet, csv or jsonl.
func Export(w io.Writer, s *Study, format string) error {
	return ExportTable(w, s, TableRuns, format)
}

// ExportTable writes one of the study's tables, runs or timeseries, as
// parquet, csv or jsonl: the same columns in the same order in every format,
// and in every study.
func ExportTable(w io.Writer, s *Study, table, format string) error {
	if !slices.Contains(results.TableFormats, format) {
		return fmt.Errorf("report: export format %q is not supported (allowed: parquet, csv, jsonl)", format)
	}
	var t *results.Table
	switch table {
	case TableRuns:
		t = RunTable(s)
	case TableTimeseries:
		var err error
		if t, err = TimeseriesTable(s); err != nil {
			return err
		}
	default:
		return fmt.Errorf("report: export table %q is not known (allowed: runs, timeseries)", table)
	}
	if err := t.Write(w, format); err != nil {
		return fmt.Errorf("report: export: %w", err)
	}
	return nil
}

// StudyName is the study's name as its result, manifest or design records it.
func (s *Study) StudyName() string {
	switch {
	case s.Result != nil && s.Result.StudyName != "":
		return s.Result.StudyName
	case s.Manifest != nil && s.Manifest.StudyName != "":
		return s.Manifest.StudyName
	case s.Design != nil:
		return s.Design.Name
	}
	return ""
}

// RunTable is the study's run table, the table the runner writes as
// results.parquet, rebuilt from what the directory holds now (a running
// or interrupted study included).
func RunTable(s *Study) *results.Table {
	name := s.StudyName()
	recs := make([]results.RunRecord, len(s.Runs))
	for i, r := range s.Runs {
		recs[i] = results.RunRecord{StudyName: name, Index: r.Index, Cycle: r.Cycle, MeasurementConfigHash: r.MeasurementConfigHash,
			State: r.State, ErrorType: r.ErrorType, Error: r.Error, ResultPath: r.ResultPath, Config: r.Config, Result: r.Result}
	}
	return results.RunTable(recs)
}

// timeseriesColumns is the time-series table: the run's identity first, so
// it joins the run table on run_index (or measurement_config_hash), then
// one row per sample and energy domain as timeseries.parquet holds it.
var timeseriesColumns = []results.Column{
	{Name: "run_index", Type: results.TypeInt64},
	{Name: "measurement_config_hash", Type: results.TypeString},
	{Name: "study_name", Type: results.TypeString},
	{Name: "cycle", Type: results.TypeInt64},
	{Name: "time", Type: results.TypeTimestamp},
	{Name: "elapsed_s", Type: results.TypeDouble},
	{Name: "phase", Type: results.TypeString},
	{Name: "domain", Type: results.TypeString},
	{Name: "domain_index", Type: results.TypeInt64},
	{Name: "source", Type: results.TypeString},
	{Name: "power_w", Type: results.TypeDouble},
	{Name: "power_derived", Type: results.TypeBool},
	{Name: "cumulative_energy_j", Type: results.TypeDouble},
	{Name: "tokens_per_s", Type: results.TypeDouble},
	{Name: "gpu_index", Type: results.TypeInt64},
	{Name: "gpu_power_w", Type: results.TypeDouble},
	{Name: "gpu_temp_c", Type: results.TypeDouble},
	{Name: "gpu_utilization_pct", Type: results.TypeDouble},
	{Name: "gpu_memory_used_mib", Type: results.TypeDouble},
	{Name: "gpu_sm_clock_mhz", Type: results.TypeInt64},
	{Name: "gpu_throttle_reasons", Type: results.TypeInt64},
}

// TimeseriesColumns are the time-series table's columns, in order.
func TimeseriesColumns() []results.Column { return slices.Clone(timeseriesColumns) }

// TimeseriesTable is every run's samples in one table, in run order; runs
// without a time-series file add no rows.
func TimeseriesTable(s *Study) (*results.Table, error) {
	t := &results.Table{Name: results.TimeseriesTableName, SchemaVersion: results.TimeseriesTableSchemaVersion, Columns: TimeseriesColumns()}
	name := s.StudyName()
	for _, r := range s.Runs {
		path := s.TimeseriesPath(r)
		if path == "" {
			continue
		}
		rows, err := parquet.ReadFile[energy.TimeseriesRow](path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("report: export run %d time series: %w", r.Index, err)
		}
		for _, x := range rows {
			var at any
			if x.UnixTimeS > 0 {
				sec, frac := math.Modf(x.UnixTimeS)
				at = time.Unix(int64(sec), int64(frac*1e9)).UTC()
			}
			t.Rows = append(t.Rows, []any{
				int64(r.Index), r.MeasurementConfigHash, name, int64(r.Cycle), at, x.TimestampS,
				x.Phase, x.Domain, int64(x.DomainIndex), x.Source, ptrCell(x.PowerW), x.PowerDerived,
				x.CumulativeEnergyJ, x.TokensPerSec, int32Cell(x.GPUIndex), ptrCell(x.GPUPowerW), ptrCell(x.GPUTempC),
				ptrCell(x.GPUUtilizationPct), ptrCell(x.GPUMemoryUsedMB), int32Cell(x.GPUSMClockMHz), ptrCell(x.GPUThrottle),
			})
		}
	}
	return t, nil
}

func ptrCell[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func int32Cell(p *int32) any {
	if p == nil {
		return nil
	}
	return int64(*p)
}
