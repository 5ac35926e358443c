package report

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"

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

// TimeseriesColumns are the time-series table's columns, in order
// (results.TimeseriesColumns: each run's timeseries.parquet has the same).
func TimeseriesColumns() []results.Column { return results.TimeseriesColumns() }

// TimeseriesTable is every run's samples in one table, in run order, each
// row with its run's identity as the study records it; runs without a
// time-series file add no rows.
func TimeseriesTable(s *Study) (*results.Table, error) {
	name := s.StudyName()
	var all []results.TimeseriesSample
	for _, r := range s.Runs {
		path := s.TimeseriesPath(r)
		if path == "" {
			continue
		}
		rows, err := results.ReadTimeseries(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("report: export run %d time series: %w", r.Index, err)
		}
		for i := range rows {
			rows[i].RunIndex, rows[i].MeasurementConfigHash, rows[i].StudyName, rows[i].Cycle = int64(r.Index), r.MeasurementConfigHash, name, int64(r.Cycle)
		}
		all = append(all, rows...)
	}
	return results.TimeseriesTable(all), nil
}
