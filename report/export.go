package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/llenergymeasure/llem/results"
)

// Export writes one flattened row per run of the study — its state, its
// configuration flattened to dotted-key columns (native.batch_size,
// dataset.output_len, …) and its metrics — as "csv" or "parquet". Runs
// without a result have empty (null) metrics, as has a metric nothing
// measured (GPU memory on a CPU run). The CSV keeps the columns in
// a logical order; Parquet orders them by name.
func Export(w io.Writer, s *Study, format string) error {
	t, err := flatTable(s)
	if err != nil {
		return err
	}
	switch format {
	case "csv":
		return t.writeCSV(w)
	case "parquet":
		return t.writeParquet(w)
	}
	return fmt.Errorf("report: export format %q is not supported (use csv or parquet)", format)
}

type kind int

const (
	kindString kind = iota
	kindInt
	kindFloat
	kindBool
)

type column struct {
	name string
	kind kind
}

// table is a flat table whose cells are string, int64, float64, bool or nil.
type table struct {
	cols []column
	rows [][]any
}

// metric is one metrics column of the export.
type metric struct {
	name string
	kind kind
	get  func(r *results.ExperimentResult) any
}

func metricColumns() []metric {
	f := func(name string, get func(r *results.ExperimentResult) float64) metric {
		return metric{name, kindFloat, func(r *results.ExperimentResult) any { return get(r) }}
	}
	i := func(name string, get func(r *results.ExperimentResult) int) metric {
		return metric{name, kindInt, func(r *results.ExperimentResult) any { return int64(get(r)) }}
	}
	return []metric{
		{"energy_source", kindString, func(r *results.ExperimentResult) any { return r.Energy.Source }},
		{"energy_estimated", kindBool, func(r *results.ExperimentResult) any { return r.Energy.Estimated }},
		{"measurement_methodology", kindString, func(r *results.ExperimentResult) any { return r.MeasurementMethodology }},
		{"started_at", kindString, func(r *results.ExperimentResult) any { return r.StartedAt.UTC().Format(time.RFC3339Nano) }},
		f("duration_s", func(r *results.ExperimentResult) float64 { return r.Energy.DurationS }),
		f("energy_total_j", func(r *results.ExperimentResult) float64 { return r.Energy.TotalJ }),
		f("energy_adjusted_j", func(r *results.ExperimentResult) float64 { return r.Energy.AdjustedJ }),
		f("energy_per_output_token_j", func(r *results.ExperimentResult) float64 { return r.Energy.PerOutputTokenJ }),
		f("energy_per_token_j", func(r *results.ExperimentResult) float64 { return r.Energy.PerTokenJ }),
		f("energy_per_request_j", func(r *results.ExperimentResult) float64 { return r.Energy.PerRequestJ }),
		f("baseline_power_w", func(r *results.ExperimentResult) float64 { return r.Energy.BaselinePowerW }),
		f("avg_power_w", func(r *results.ExperimentResult) float64 { return r.Energy.AvgPowerW }),
		f("peak_power_w", func(r *results.ExperimentResult) float64 { return r.Energy.PeakPowerW }),
		i("requests", func(r *results.ExperimentResult) int { return r.Throughput.Requests }),
		i("input_tokens", func(r *results.ExperimentResult) int { return r.Throughput.InputTokens }),
		i("output_tokens", func(r *results.ExperimentResult) int { return r.Throughput.OutputTokens }),
		f("output_tokens_per_s", func(r *results.ExperimentResult) float64 { return r.Throughput.OutputTokensPerS }),
		f("requests_per_s", func(r *results.ExperimentResult) float64 { return r.Throughput.RequestsPerS }),
		f("ttft_p50_s", func(r *results.ExperimentResult) float64 { return r.Latency.TTFT.P50 }),
		f("ttft_p99_s", func(r *results.ExperimentResult) float64 { return r.Latency.TTFT.P99 }),
		f("itl_p50_s", func(r *results.ExperimentResult) float64 { return r.Latency.ITL.P50 }),
		f("itl_p99_s", func(r *results.ExperimentResult) float64 { return r.Latency.ITL.P99 }),
		f("e2e_p50_s", func(r *results.ExperimentResult) float64 { return r.Latency.E2E.P50 }),
		f("e2e_p99_s", func(r *results.ExperimentResult) float64 { return r.Latency.E2E.P99 }),
		// The harness records memory in MiB (2^20 bytes) despite the result
		// field's name, and 0 (omitted from result.json) when nothing
		// measured it, e.g. a CPU run: an empty cell, not a peak of 0.
		{"peak_memory_mib", kindFloat, func(r *results.ExperimentResult) any {
			if r.Compute.PeakMemoryMB <= 0 {
				return nil
			}
			return r.Compute.PeakMemoryMB
		}},
		i("measurement_warnings", func(r *results.ExperimentResult) int { return len(r.MeasurementWarnings) }),
	}
}

// flatTable builds the export table of a study.
func flatTable(s *Study) (*table, error) {
	flat := make([]map[string]string, len(s.Runs))
	keys := make(map[string]bool)
	for i, r := range s.Runs {
		if r.Config == nil {
			continue
		}
		f, err := flattenConfig(r.Config)
		if err != nil {
			return nil, fmt.Errorf("report: export run %d: %w", r.Index, err)
		}
		flat[i] = f
		for k := range f {
			keys[k] = true
		}
	}
	cfgKeys := slices.Sorted(maps.Keys(keys))
	metrics := metricColumns()

	t := &table{cols: []column{
		{"run_index", kindInt}, {"cycle", kindInt}, {"state", kindString},
		{"measurement_config_hash", kindString}, {"result_path", kindString},
		{"error_type", kindString}, {"error", kindString},
	}}
	for _, k := range cfgKeys {
		t.cols = append(t.cols, column{k, inferKind(flat, k)})
	}
	for _, m := range metrics {
		t.cols = append(t.cols, column{m.name, m.kind})
	}
	for i, r := range s.Runs {
		row := []any{int64(r.Index), int64(r.Cycle), string(r.State), r.MeasurementConfigHash,
			nilIfEmpty(r.ResultPath), nilIfEmpty(r.ErrorType), nilIfEmpty(r.Error)}
		for j, k := range cfgKeys {
			row = append(row, typedCell(flat[i], k, t.cols[7+j].kind))
		}
		for _, m := range metrics {
			if r.Result == nil {
				row = append(row, nil)
			} else {
				row = append(row, m.get(r.Result))
			}
		}
		t.rows = append(t.rows, row)
	}
	return t, nil
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// inferKind is the narrowest type holding every run's value of key.
func inferKind(flat []map[string]string, key string) kind {
	var sawBool, sawInt, sawFloat bool
	for _, f := range flat {
		v, ok := f[key]
		switch {
		case !ok || v == "null":
		case v == "true" || v == "false":
			sawBool = true
		case isInt(v):
			sawInt = true
		case isFloat(v):
			sawFloat = true
		default:
			return kindString
		}
	}
	switch {
	case sawBool && (sawInt || sawFloat), !sawBool && !sawInt && !sawFloat:
		return kindString
	case sawBool:
		return kindBool
	case sawFloat:
		return kindFloat
	}
	return kindInt
}

func isInt(v string) bool {
	_, err := strconv.ParseInt(v, 10, 64)
	return err == nil
}

func isFloat(v string) bool {
	_, err := strconv.ParseFloat(v, 64)
	return err == nil
}

func typedCell(flat map[string]string, key string, k kind) any {
	v, ok := flat[key]
	if !ok || v == "null" {
		return nil
	}
	switch k {
	case kindInt:
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	case kindFloat:
		x, _ := strconv.ParseFloat(v, 64)
		return x
	case kindBool:
		return v == "true"
	}
	return v
}

func (t *table) writeCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	head := make([]string, len(t.cols))
	for i, c := range t.cols {
		head[i] = c.name
	}
	if err := cw.Write(head); err != nil {
		return fmt.Errorf("report: export CSV: %w", err)
	}
	rec := make([]string, len(t.cols))
	for _, row := range t.rows {
		for i, v := range row {
			switch x := v.(type) {
			case nil:
				rec[i] = ""
			case float64:
				rec[i] = strconv.FormatFloat(x, 'g', -1, 64)
			default:
				rec[i] = fmt.Sprint(x)
			}
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("report: export CSV: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report: export CSV: %w", err)
	}
	return nil
}

func (t *table) writeParquet(w io.Writer) error {
	group := parquet.Group{}
	for _, c := range t.cols {
		var n parquet.Node
		switch c.kind {
		case kindInt:
			n = parquet.Int(64)
		case kindFloat:
			n = parquet.Leaf(parquet.DoubleType)
		case kindBool:
			n = parquet.Leaf(parquet.BooleanType)
		default:
			n = parquet.String()
		}
		group[c.name] = parquet.Optional(n)
	}
	schema := parquet.NewSchema("runs", group)
	// The schema orders columns by name; map each to its table column.
	at := make(map[string]int, len(t.cols))
	for i, c := range t.cols {
		at[c.name] = i
	}
	fields := schema.Fields()
	rows := make([]parquet.Row, len(t.rows))
	for r, cells := range t.rows {
		row := make(parquet.Row, len(fields))
		for col, f := range fields {
			v := cells[at[f.Name()]]
			if v == nil {
				row[col] = parquet.NullValue().Level(0, 0, col)
			} else {
				row[col] = parquet.ValueOf(v).Level(0, 1, col)
			}
		}
		rows[r] = row
	}
	pw := parquet.NewWriter(w, schema)
	if _, err := pw.WriteRows(rows); err != nil {
		return fmt.Errorf("report: export Parquet: %w", err)
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("report: export Parquet: %w", err)
	}
	return nil
}
