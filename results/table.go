package results

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/buildinfo"
)

// ColumnType is the type of a table column. It is fixed where the column is
// defined, never inferred from the values, so two studies with different
// sweeps give tables of the same schema.
type ColumnType int

// Column types.
const (
	TypeString ColumnType = iota
	TypeInt64
	TypeDouble
	TypeBool
	// TypeTimestamp is a UTC instant: Parquet timestamp (microseconds),
	// RFC 3339 in CSV and JSON Lines.
	TypeTimestamp
)

func (t ColumnType) String() string {
	return [...]string{"string", "int64", "double", "bool", "timestamp"}[t]
}

// Column is one column of a Table.
type Column struct {
	Name string
	Type ColumnType
}

// Table is an ordered, typed table. Each cell is nil (null) or the Go value
// of its column's type: string, int64, float64, bool or time.Time.
type Table struct {
	// Name is the table's name ("runs", "timeseries"), written to Parquet
	// metadata.
	Name string
	// SchemaVersion changes whenever a column is added, removed, renamed or
	// retyped.
	SchemaVersion string
	Columns       []Column
	Rows          [][]any
}

// Table names and schema versions.
const (
	RunTableName                 = "runs"
	RunTableSchemaVersion        = "1"
	TimeseriesTableName          = "timeseries"
	TimeseriesTableSchemaVersion = "2"
)

// Parquet key-value metadata keys of a Table.
const (
	MetaLLemVersion        = "llem.version"
	MetaTable              = "llem.table"
	MetaTableSchemaVersion = "llem.table_schema_version"
)

// Table formats.
const (
	FormatParquet = "parquet"
	FormatCSV     = "csv"
	FormatJSONL   = "jsonl"
)

// TableFormats are the formats Table.Write takes.
var TableFormats = []string{FormatParquet, FormatCSV, FormatJSONL}

// Write writes the table as parquet, csv or jsonl: the same columns in the
// same order in every format.
func (t *Table) Write(w io.Writer, format string) error {
	switch format {
	case FormatParquet:
		return t.WriteParquet(w)
	case FormatCSV:
		return t.WriteCSV(w)
	case FormatJSONL:
		return t.WriteJSONL(w)
	}
	return fmt.Errorf("table format %q is not supported (allowed: parquet, csv, jsonl)", format)
}

// WriteFile writes the table at path, atomically.
func (t *Table) WriteFile(path, format string) error {
	var buf bytes.Buffer
	if err := t.Write(&buf, format); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return WriteFileAtomic(path, buf.Bytes(), 0o644)
}

// parquetSchema builds the schema from a struct type made for the columns,
// because a parquet.Group orders its fields by name and a struct keeps them
// in declaration order.
func (t *Table) parquetSchema() *parquet.Schema {
	fields := make([]reflect.StructField, len(t.Columns))
	for i, c := range t.Columns {
		var typ reflect.Type
		tag := c.Name + ",optional"
		switch c.Type {
		case TypeInt64:
			typ = reflect.TypeFor[int64]()
		case TypeDouble:
			typ = reflect.TypeFor[float64]()
		case TypeBool:
			typ = reflect.TypeFor[bool]()
		case TypeTimestamp:
			typ = reflect.TypeFor[time.Time]()
			tag += ",timestamp(microsecond)"
		default:
			typ = reflect.TypeFor[string]()
		}
		fields[i] = reflect.StructField{Name: "C" + strconv.Itoa(i), Type: typ, Tag: reflect.StructTag(`parquet:"` + tag + `"`)}
	}
	return parquet.NewSchema(t.Name, parquet.SchemaOf(reflect.New(reflect.StructOf(fields)).Interface()))
}

// WriteParquet writes the table as Parquet, with llem's version, the table's
// name and its schema version in the key-value metadata.
func (t *Table) WriteParquet(w io.Writer) error {
	schema := t.parquetSchema()
	rows := make([]parquet.Row, len(t.Rows))
	for r, cells := range t.Rows {
		row := make(parquet.Row, len(t.Columns))
		for col, v := range cells {
			pv, ok := parquetValue(v)
			if !ok {
				row[col] = parquet.NullValue().Level(0, 0, col)
			} else {
				row[col] = pv.Level(0, 1, col)
			}
		}
		rows[r] = row
	}
	pw := parquet.NewWriter(w, schema,
		parquet.KeyValueMetadata(MetaLLemVersion, buildinfo.Get().Version),
		parquet.KeyValueMetadata(MetaTable, t.Name),
		parquet.KeyValueMetadata(MetaTableSchemaVersion, t.SchemaVersion))
	if _, err := pw.WriteRows(rows); err != nil {
		return fmt.Errorf("%s table as Parquet: %w", t.Name, err)
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("%s table as Parquet: %w", t.Name, err)
	}
	return nil
}

func parquetValue(v any) (parquet.Value, bool) {
	switch x := v.(type) {
	case nil:
		return parquet.Value{}, false
	case string:
		return parquet.ByteArrayValue([]byte(x)), true
	case int64:
		return parquet.Int64Value(x), true
	case float64:
		return parquet.DoubleValue(x), true
	case bool:
		return parquet.BooleanValue(x), true
	case time.Time:
		return parquet.Int64Value(x.UnixMicro()), true
	}
	panic(fmt.Sprintf("results: table cell of type %T", v))
}

// textCell is a cell as CSV writes it: RFC 3339 times, shortest exact floats.
func textCell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}

// WriteCSV writes the table as CSV with a header row; a null is an empty
// cell, a time RFC 3339 in UTC.
func (t *Table) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	rec := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		rec[i] = c.Name
	}
	if err := cw.Write(rec); err != nil {
		return fmt.Errorf("%s table as CSV: %w", t.Name, err)
	}
	for _, row := range t.Rows {
		for i, v := range row {
			rec[i] = textCell(v)
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("%s table as CSV: %w", t.Name, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("%s table as CSV: %w", t.Name, err)
	}
	return nil
}

// WriteJSONL writes one JSON object a row, keys in column order, every
// column present (null when empty), times as RFC 3339 strings.
func (t *Table) WriteJSONL(w io.Writer) error {
	names := make([][]byte, len(t.Columns))
	for i, c := range t.Columns {
		names[i], _ = json.Marshal(c.Name) // a string always encodes
	}
	var buf bytes.Buffer
	for _, row := range t.Rows {
		buf.Reset()
		buf.WriteByte('{')
		for i, v := range row {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.Write(names[i])
			buf.WriteByte(':')
			switch x := v.(type) {
			case float64:
				if math.IsNaN(x) || math.IsInf(x, 0) {
					v = nil
				}
			case time.Time:
				v = x.UTC().Format(time.RFC3339Nano)
			}
			b, err := json.Marshal(v)
			if err != nil {
				return fmt.Errorf("%s table as JSON Lines: %w", t.Name, err)
			}
			buf.Write(b)
		}
		buf.WriteString("}\n")
		if _, err := w.Write(buf.Bytes()); err != nil {
			return fmt.Errorf("%s table as JSON Lines: %w", t.Name, err)
		}
	}
	return nil
}

// RunRecord is what one row of the run table is made of: a run as the
// manifest knows it, with its configuration and, when it completed, its
// result.
type RunRecord struct {
	StudyName             string
	Index                 int
	Cycle                 int
	MeasurementConfigHash string
	State                 RunState
	ErrorType             string
	Error                 string
	// ResultPath is the result.json path relative to the study directory.
	ResultPath string
	// Config is nil when unknown; then the configuration columns are null.
	Config *config.ExperimentConfig
	// Result is nil unless the run completed; then the metric columns are null.
	Result *ExperimentResult
}

// runColumn is a column of the run table and how a record fills it.
type runColumn struct {
	Column
	get func(RunRecord) any
}

// configColumn is a configuration field: its dotted name and the field
// indices that reach it from config.ExperimentConfig.
type configColumn struct {
	Column
	path [][]int
}

// configColumns lists every field of config.ExperimentConfig, depth first
// in declaration order, named by its JSON keys joined with dots (as
// docs/config-reference.md names them) and typed by its Go type: numbers
// stay numbers whatever a sweep sets. Lists and mappings are JSON text.
func configColumns() []configColumn {
	var out []configColumn
	var walk func(t reflect.Type, prefix string, path [][]int)
	walk = func(t reflect.Type, prefix string, path [][]int) {
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if prefix != "" {
				name = prefix + "." + name
			}
			p := append(append([][]int(nil), path...), f.Index)
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[time.Time]() {
				walk(ft, name, p)
				continue
			}
			out = append(out, configColumn{Column{name, columnType(ft)}, p})
		}
	}
	walk(reflect.TypeFor[config.ExperimentConfig](), "", nil)
	return out
}

func columnType(t reflect.Type) ColumnType {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return TypeInt64
	case reflect.Float32, reflect.Float64:
		return TypeDouble
	case reflect.Bool:
		return TypeBool
	case reflect.Struct:
		return TypeTimestamp
	}
	return TypeString
}

// value reads the column's field from cfg: nil when a pointer on the way is
// nil or a list or mapping is empty.
func (c configColumn) value(cfg *config.ExperimentConfig) any {
	v := reflect.ValueOf(cfg).Elem()
	for _, idx := range c.path {
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return nil
			}
			v = v.Elem()
		}
		v = v.FieldByIndex(idx)
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	switch c.Type {
	case TypeInt64:
		if v.CanInt() {
			return v.Int()
		}
		return int64(v.Uint())
	case TypeDouble:
		return v.Float()
	case TypeBool:
		return v.Bool()
	case TypeTimestamp:
		return v.Interface().(time.Time)
	}
	if v.Kind() == reflect.String {
		return v.String()
	}
	if v.Len() == 0 {
		return nil
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return nil
	}
	return string(b)
}

// Energy domain kinds summed into the per-domain columns, as the energy
// package names them in results.
const (
	domainGPU        = "gpu"
	domainCPUPackage = "cpu_package"
	domainCPU        = "cpu"
	domainDRAM       = "dram"
)

func domainJ(r *ExperimentResult, kinds ...string) any {
	var sum float64
	found := false
	for _, d := range r.Energy.Domains {
		for _, k := range kinds {
			if d.Kind == k {
				sum += d.TotalJ
				found = true
			}
		}
	}
	if !found {
		return nil
	}
	return sum
}

// runColumns is the run table's definition: identity, configuration,
// state, then metrics.
func runColumns() []runColumn {
	str := func(name string, get func(RunRecord) string) runColumn {
		return runColumn{Column{name, TypeString}, func(r RunRecord) any {
			if s := get(r); s != "" {
				return s
			}
			return nil
		}}
	}
	integer := func(name string, get func(RunRecord) int) runColumn {
		return runColumn{Column{name, TypeInt64}, func(r RunRecord) any { return int64(get(r)) }}
	}
	// Metric columns are null for a run without a result.
	metric := func(name string, typ ColumnType, get func(*ExperimentResult) any) runColumn {
		return runColumn{Column{name, typ}, func(r RunRecord) any {
			if r.Result == nil {
				return nil
			}
			return get(r.Result)
		}}
	}
	f := func(name string, get func(*ExperimentResult) float64) runColumn {
		return metric(name, TypeDouble, func(r *ExperimentResult) any { return get(r) })
	}
	i := func(name string, get func(*ExperimentResult) int) runColumn {
		return metric(name, TypeInt64, func(r *ExperimentResult) any { return int64(get(r)) })
	}
	phase := func(name string, get func(*PhaseEnergy) float64) runColumn {
		return metric(name, TypeDouble, func(r *ExperimentResult) any {
			if r.Energy.Phases == nil {
				return nil
			}
			return get(r.Energy.Phases)
		})
	}
	dist := func(prefix string, get func(*ExperimentResult) Distribution) []runColumn {
		return []runColumn{
			f(prefix+"_mean_s", func(r *ExperimentResult) float64 { return get(r).Mean }),
			f(prefix+"_p50_s", func(r *ExperimentResult) float64 { return get(r).P50 }),
			f(prefix+"_p90_s", func(r *ExperimentResult) float64 { return get(r).P90 }),
			f(prefix+"_p99_s", func(r *ExperimentResult) float64 { return get(r).P99 }),
		}
	}

	cols := []runColumn{
		str("study_name", func(r RunRecord) string { return r.StudyName }),
		integer("run_index", func(r RunRecord) int { return r.Index }),
		integer("cycle", func(r RunRecord) int { return r.Cycle }),
		str("measurement_config_hash", func(r RunRecord) string { return r.MeasurementConfigHash }),
	}
	for _, c := range configColumns() {
		cols = append(cols, runColumn{c.Column, func(r RunRecord) any {
			if r.Config == nil {
				return nil
			}
			return c.value(r.Config)
		}})
	}
	cols = append(cols,
		str("state", func(r RunRecord) string { return string(r.State) }),
		str("error_type", func(r RunRecord) string { return r.ErrorType }),
		str("error", func(r RunRecord) string { return r.Error }),
		str("result_path", func(r RunRecord) string { return r.ResultPath }),
		metric("started_at", TypeTimestamp, func(r *ExperimentResult) any { return r.StartedAt }),
		metric("completed_at", TypeTimestamp, func(r *ExperimentResult) any { return r.CompletedAt }),
		metric("measurement_methodology", TypeString, func(r *ExperimentResult) any { return r.MeasurementMethodology }),
		metric("energy_source", TypeString, func(r *ExperimentResult) any { return r.Energy.Source }),
		metric("energy_estimated", TypeBool, func(r *ExperimentResult) any { return r.Energy.Estimated }),
		f("duration_s", func(r *ExperimentResult) float64 { return r.Energy.DurationS }),
		f("energy_total_j", func(r *ExperimentResult) float64 { return r.Energy.TotalJ }),
		f("energy_adjusted_j", func(r *ExperimentResult) float64 { return r.Energy.AdjustedJ }),
		// Per domain: null when the run measured no such domain.
		metric("energy_gpu_j", TypeDouble, func(r *ExperimentResult) any { return domainJ(r, domainGPU) }),
		metric("energy_cpu_j", TypeDouble, func(r *ExperimentResult) any { return domainJ(r, domainCPUPackage, domainCPU) }),
		metric("energy_dram_j", TypeDouble, func(r *ExperimentResult) any { return domainJ(r, domainDRAM) }),
		f("energy_per_output_token_j", func(r *ExperimentResult) float64 { return r.Energy.PerOutputTokenJ }),
		// Its 95% interval over the run's requests; null below the
		// bootstrap's minimum number of requests.
		metric("energy_per_output_token_ci95_low_j", TypeDouble, func(r *ExperimentResult) any {
			if ci := r.Energy.PerOutputTokenCI; ci != nil {
				return ci.Low
			}
			return nil
		}),
		metric("energy_per_output_token_ci95_high_j", TypeDouble, func(r *ExperimentResult) any {
			if ci := r.Energy.PerOutputTokenCI; ci != nil {
				return ci.High
			}
			return nil
		}),
		f("energy_per_token_j", func(r *ExperimentResult) float64 { return r.Energy.PerTokenJ }),
		f("energy_per_request_j", func(r *ExperimentResult) float64 { return r.Energy.PerRequestJ }),
		// Prefill and decode (PhaseEnergy): null when the run has no split.
		phase("prefill_j", func(p *PhaseEnergy) float64 { return p.PrefillJ }),
		phase("decode_j", func(p *PhaseEnergy) float64 { return p.DecodeJ }),
		phase("prefill_per_input_token_j", func(p *PhaseEnergy) float64 { return p.PrefillPerInputTokenJ }),
		phase("decode_per_output_token_j", func(p *PhaseEnergy) float64 { return p.DecodePerOutputTokenJ }),
		f("baseline_power_w", func(r *ExperimentResult) float64 { return r.Energy.BaselinePowerW }),
		f("avg_power_w", func(r *ExperimentResult) float64 { return r.Energy.AvgPowerW }),
		f("peak_power_w", func(r *ExperimentResult) float64 { return r.Energy.PeakPowerW }),
		i("requests", func(r *ExperimentResult) int { return r.Throughput.Requests }),
		i("input_tokens", func(r *ExperimentResult) int { return r.Throughput.InputTokens }),
		i("output_tokens", func(r *ExperimentResult) int { return r.Throughput.OutputTokens }),
		f("output_tokens_per_s", func(r *ExperimentResult) float64 { return r.Throughput.OutputTokensPerS }),
		f("requests_per_s", func(r *ExperimentResult) float64 { return r.Throughput.RequestsPerS }),
	)
	cols = append(cols, dist("ttft", func(r *ExperimentResult) Distribution { return r.Latency.TTFT })...)
	cols = append(cols, dist("itl", func(r *ExperimentResult) Distribution { return r.Latency.ITL })...)
	cols = append(cols, dist("tpot", func(r *ExperimentResult) Distribution { return r.Latency.TPOT })...)
	cols = append(cols, dist("e2e", func(r *ExperimentResult) Distribution { return r.Latency.E2E })...)
	cols = append(cols,
		f("flops_total", func(r *ExperimentResult) float64 { return r.Compute.FLOPsTotal }),
		// The harness records memory in MiB (2^20 bytes) despite the result
		// field's name, and 0 when nothing measured it (a CPU run): null,
		// not a peak of 0.
		metric("peak_memory_mib", TypeDouble, func(r *ExperimentResult) any {
			if r.Compute.PeakMemoryMB <= 0 {
				return nil
			}
			return r.Compute.PeakMemoryMB
		}),
		i("measurement_warnings", func(r *ExperimentResult) int { return len(r.MeasurementWarnings) }),
		// Carbon: null without a carbon context in the user config.
		metric("emissions_gco2", TypeDouble, func(r *ExperimentResult) any {
			if r.Carbon == nil {
				return nil
			}
			return r.Carbon.EmissionsG
		}),
		metric("carbon_intensity_gco2_per_kwh", TypeDouble, func(r *ExperimentResult) any {
			if r.Carbon == nil {
				return nil
			}
			return r.Carbon.CarbonIntensityGKWh
		}),
		// The machine the run measured.
		metric("hostname", TypeString, func(r *ExperimentResult) any { return nonEmpty(r.Environment.Hostname) }),
		metric("cpu_model", TypeString, func(r *ExperimentResult) any { return nonEmpty(r.Environment.CPUModel) }),
		metric("gpu_name", TypeString, func(r *ExperimentResult) any { return nonEmpty(gpuNames(r.Environment.GPUs)) }),
		i("gpu_count", func(r *ExperimentResult) int { return r.Environment.GPUCount }),
		metric("driver_version", TypeString, func(r *ExperimentResult) any { return nonEmpty(r.Environment.DriverVersion) }),
		metric("llem_version", TypeString, func(r *ExperimentResult) any { return nonEmpty(r.Environment.LlemVersion) }),
	)
	return cols
}

// RunColumns are the run table's columns, in order.
func RunColumns() []Column {
	rc := runColumns()
	out := make([]Column, len(rc))
	for i, c := range rc {
		out[i] = c.Column
	}
	return out
}

// RunTable builds the run table (results.parquet, `llem export`): one row
// per record, every configuration field a column whether or not a sweep
// set it, so every study's table has the same schema.
func RunTable(recs []RunRecord) *Table {
	rc := runColumns()
	t := &Table{Name: RunTableName, SchemaVersion: RunTableSchemaVersion, Columns: make([]Column, len(rc))}
	for i, c := range rc {
		t.Columns[i] = c.Column
	}
	for _, r := range recs {
		row := make([]any, len(rc))
		for i, c := range rc {
			row[i] = c.get(r)
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

func nonEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// gpuNames names a run's GPU models: each distinct name once, in index
// order, joined by "; ".
func gpuNames(gpus []GPUInfo) string {
	var names []string
	for _, g := range gpus {
		if !slices.Contains(names, g.Name) {
			names = append(names, g.Name)
		}
	}
	return strings.Join(names, "; ")
}
