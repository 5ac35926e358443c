package results

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/config"
)

// twoStudies are the run records of two studies with different sweeps: a
// native batch-size sweep at temperature 1 (an integer-looking value) and
// an openai request-rate sweep at temperature 0.7, one run failed.
func twoStudies() (native, openai []RunRecord) {
	started := time.Date(2026, 5, 6, 7, 8, 9, 123456000, time.UTC)
	for i, b := range []int{1, 8} {
		r := &ExperimentResult{MeasurementConfigHash: "n" + string(rune('a'+i)), Cycle: 1, StartedAt: started, CompletedAt: started.Add(time.Minute),
			Config: config.ExperimentConfig{Model: "tiny", Backend: config.BackendNative, Precision: "fp32",
				Decoder: config.DecoderConfig{Temperature: 1}, Native: &config.NativeConfig{BatchSize: &b}},
			Energy: EnergyMetrics{Source: "rapl", PerOutputTokenJ: 0.25, TotalJ: 100, Domains: []DomainEnergy{
				{Kind: "cpu_package", TotalJ: 70}, {Kind: "dram", TotalJ: 30}}},
			Latency: LatencyStats{TTFT: Distribution{P50: 0.01, P90: 0.02, P99: 0.03}}}
		native = append(native, RunRecord{StudyName: "batch", Index: i, Cycle: 1, MeasurementConfigHash: r.MeasurementConfigHash,
			State: StateCompleted, ResultPath: "run/" + ResultFile, Config: &r.Config, Result: r})
	}
	for i, rate := range []float64{2.5, 5} {
		cfg := config.ExperimentConfig{Model: "m", Backend: config.BackendOpenAI, Decoder: config.DecoderConfig{Temperature: 0.7},
			OpenAI: &config.OpenAIConfig{RequestRate: &rate, ServerCommand: []string{"serve", "--x"}}}
		rec := RunRecord{StudyName: "rates", Index: i, Cycle: 1, MeasurementConfigHash: "o", Config: &cfg}
		if i == 0 {
			rec.State, rec.ErrorType, rec.Error = StateFailed, "EngineError", "server died"
		} else {
			rec.State = StateCompleted
			rec.Result = &ExperimentResult{Config: cfg, StartedAt: started, Energy: EnergyMetrics{Source: "nvml_energy_counter", TotalJ: 9,
				Domains: []DomainEnergy{{Kind: "gpu", TotalJ: 9}}}}
		}
		openai = append(openai, rec)
	}
	return native, openai
}

func column(t *testing.T, tab *Table, name string) int {
	t.Helper()
	i := slices.IndexFunc(tab.Columns, func(c Column) bool { return c.Name == name })
	if i < 0 {
		t.Fatalf("no column %s", name)
	}
	return i
}

// TestRunTableSchemaSameAcrossStudies writes the run tables of two studies
// with different sweeps and reads them back with parquet-go: the same
// columns with the same types in the same order, the values typed by the Go
// field (decoder.temperature a double even at 1), and llem's version and
// the table's schema version in the metadata.
func TestRunTableSchemaSameAcrossStudies(t *testing.T) {
	native, openai := twoStudies()
	dir := t.TempDir()
	var tabs []*Table
	for i, recs := range [][]RunRecord{native, openai} {
		path := filepath.Join(dir, string(rune('a'+i))+".parquet")
		if err := RunTable(recs).WriteFile(path, FormatParquet); err != nil {
			t.Fatal(err)
		}
		tab, meta, err := ReadTableParquet(path)
		if err != nil {
			t.Fatal(err)
		}
		if meta[MetaLLemVersion] == "" || meta[MetaTable] != RunTableName || meta[MetaTableSchemaVersion] != RunTableSchemaVersion {
			t.Errorf("metadata %v", meta)
		}
		if !slices.Equal(tab.Columns, RunColumns()) {
			t.Errorf("study %d: columns read back differ from RunColumns:\n%v\n%v", i, tab.Columns, RunColumns())
		}
		tabs = append(tabs, tab)
	}
	if !slices.Equal(tabs[0].Columns, tabs[1].Columns) {
		t.Fatalf("schemas differ:\n%v\n%v", tabs[0].Columns, tabs[1].Columns)
	}
	want := map[string]ColumnType{"study_name": TypeString, "run_index": TypeInt64, "decoder.temperature": TypeDouble,
		"native.batch_size": TypeInt64, "openai.request_rate": TypeDouble, "started_at": TypeTimestamp,
		"energy_estimated": TypeBool, "openai.server_command": TypeString}
	for name, typ := range want {
		if got := tabs[0].Columns[column(t, tabs[0], name)].Type; got != typ {
			t.Errorf("%s: %s, want %s", name, got, typ)
		}
	}
	if got := slices.Collect(func(yield func(string) bool) {
		for _, c := range tabs[0].Columns[:4] {
			yield(c.Name)
		}
	}); !slices.Equal(got, []string{"study_name", "run_index", "cycle", "measurement_config_hash"}) {
		t.Errorf("identity columns %v", got)
	}

	n, o := tabs[0], tabs[1]
	cell := func(tab *Table, row int, name string) any { return tab.Rows[row][column(t, tab, name)] }
	checks := []struct {
		tab  *Table
		row  int
		name string
		want any
	}{
		{n, 1, "native.batch_size", int64(8)},
		{n, 0, "decoder.temperature", 1.0},
		{n, 0, "openai.request_rate", nil},
		{n, 0, "energy_cpu_j", 70.0},
		{n, 0, "energy_dram_j", 30.0},
		{n, 0, "energy_gpu_j", nil},
		{n, 0, "ttft_p90_s", 0.02},
		{n, 0, "started_at", time.Date(2026, 5, 6, 7, 8, 9, 123456000, time.UTC)},
		{o, 0, "state", "failed"},
		{o, 0, "error", "server died"},
		{o, 0, "energy_total_j", nil},
		{o, 0, "openai.request_rate", 2.5},
		{o, 0, "openai.server_command", `["serve","--x"]`},
		{o, 1, "energy_gpu_j", 9.0},
		{o, 1, "native.batch_size", nil},
	}
	for _, c := range checks {
		if got := cell(c.tab, c.row, c.name); got != c.want {
			t.Errorf("%s row %d %s = %#v, want %#v", c.tab.Rows[c.row][0], c.row, c.name, got, c.want)
		}
	}
}

// TestRunTableFormatsShareColumns checks CSV and JSON Lines carry the same
// columns in the same order as Parquet, times in RFC 3339, nulls empty.
func TestRunTableFormatsShareColumns(t *testing.T) {
	native, _ := twoStudies()
	tab := RunTable(native)
	var names []string
	for _, c := range tab.Columns {
		names = append(names, c.Name)
	}

	var c bytes.Buffer
	if err := tab.Write(&c, FormatCSV); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&c).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || !slices.Equal(recs[0], names) {
		t.Fatalf("CSV: %d records, header %v", len(recs), recs[0])
	}
	if got := recs[1][column(t, tab, "started_at")]; got != "2026-05-06T07:08:09.123456Z" {
		t.Errorf("CSV started_at %q", got)
	}
	if got := recs[1][column(t, tab, "openai.request_rate")]; got != "" {
		t.Errorf("CSV null cell %q", got)
	}

	var j bytes.Buffer
	if err := tab.Write(&j, FormatJSONL); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(j.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("JSONL: %d lines", len(lines))
	}
	dec := json.NewDecoder(strings.NewReader(lines[0]))
	if _, err := dec.Token(); err != nil { // {
		t.Fatal(err)
	}
	var keys []string
	row := map[string]any{}
	for dec.More() {
		k, _ := dec.Token()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		row[k.(string)] = v
	}
	if !slices.Equal(keys, names) {
		t.Errorf("JSONL keys %v", keys)
	}
	if row["started_at"] != "2026-05-06T07:08:09.123456Z" || row["openai.request_rate"] != nil || row["decoder.temperature"] != 1.0 {
		t.Errorf("JSONL row %v", row)
	}
	if err := tab.Write(&j, "xlsx"); err == nil || !strings.Contains(err.Error(), "allowed: parquet, csv, jsonl") {
		t.Errorf("unknown format: %v", err)
	}
}
