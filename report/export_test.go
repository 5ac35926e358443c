package report

import (
	"bytes"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/results"
)

// exportFixtures are two studies with different sweeps (native batch size
// and output length × cycles; a partly failed study still running).
var exportFixtures = []string{"native-sweep", "generated-partial"}

// writeExports writes table of each export fixture as Parquet under dir.
func writeExports(t *testing.T, dir, table string) []string {
	t.Helper()
	var paths []string
	for _, name := range exportFixtures {
		s, err := Load(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := ExportTable(&buf, s, table, results.FormatParquet); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name+"-"+table+".parquet")
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// TestExportSchemaSameAcrossStudies reads the exports of two studies with
// different sweeps back with parquet-go: both tables have the same columns,
// with the same types, in the same order.
func TestExportSchemaSameAcrossStudies(t *testing.T) {
	for table, want := range map[string][]results.Column{TableRuns: results.RunColumns(), TableTimeseries: TimeseriesColumns()} {
		t.Run(table, func(t *testing.T) {
			for _, p := range writeExports(t, t.TempDir(), table) {
				got, meta, err := results.ReadTableParquet(p)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got.Columns, want) {
					t.Errorf("%s: columns\n%v\nwant\n%v", filepath.Base(p), got.Columns, want)
				}
				if len(got.Rows) == 0 || meta[results.MetaTable] != table || meta[results.MetaTableSchemaVersion] == "" {
					t.Errorf("%s: %d rows, metadata %v", filepath.Base(p), len(got.Rows), meta)
				}
			}
		})
	}
}

// TestExportTimeseriesJoinable checks the time-series CSV (for pandas
// without pyarrow): run index and measurement hash first, matching the run
// table's, times in RFC 3339, phases as the recorder names them.
func TestExportTimeseriesJoinable(t *testing.T) {
	s, _ := loadFixture(t, "native-sweep")
	var buf bytes.Buffer
	if err := ExportTable(&buf, s, TableTimeseries, results.FormatCSV); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < 2 || !slices.Equal(recs[0][:2], []string{"run_index", "measurement_config_hash"}) {
		t.Fatalf("%d records, header %v", len(recs), recs[0])
	}
	hashOf := make(map[string]string)
	for _, r := range s.Runs {
		hashOf[strconv.Itoa(r.Index)] = r.MeasurementConfigHash
	}
	col := slices.Index(recs[0], "time")
	phase := slices.Index(recs[0], "phase")
	phases := make(map[string]bool)
	runs := make(map[string]bool)
	for _, rec := range recs[1:] {
		runs[rec[0]] = true
		phases[rec[phase]] = true
		if h, ok := hashOf[rec[0]]; ok && h != rec[1] {
			t.Fatalf("run %s: hash %s, the run table has %s", rec[0], rec[1], h)
		}
		if _, err := time.Parse(time.RFC3339Nano, rec[col]); err != nil {
			t.Fatalf("time %q: %v", rec[col], err)
		}
	}
	if len(runs) != len(s.Runs) || !phases["measure"] {
		t.Errorf("%d runs of %d, phases %v", len(runs), len(s.Runs), phases)
	}
}

// TestExportDuckDBUnionAll checks that DuckDB reads the run tables of two
// studies with different sweeps with one plain UNION ALL, when node and
// @duckdb/node-api (found through NODE_PATH) are installed.
func TestExportDuckDBUnionAll(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	if err := exec.Command(node, "-e", "require('@duckdb/node-api')").Run(); err != nil {
		t.Skip("node cannot load @duckdb/node-api: npm install @duckdb/node-api, then set NODE_PATH to its node_modules")
	}
	dir := t.TempDir()
	paths := writeExports(t, dir, TableRuns)
	script := `const {DuckDBInstance} = require('@duckdb/node-api');
(async () => {
  const con = await (await DuckDBInstance.create(':memory:')).connect();
  const [a, b] = process.argv.slice(2);
  const r = await con.runAndReadAll("SELECT count(*)::INTEGER AS n, count(DISTINCT study_name)::INTEGER AS s, typeof(any_value(\"decoder.temperature\")) AS t FROM (SELECT * FROM '" + a + "' UNION ALL SELECT * FROM '" + b + "')");
  const [n, s, t] = r.getRows()[0];
  console.log(n + " " + s + " " + t);
})().catch(e => { console.error(e.message); process.exit(1); });`
	js := filepath.Join(dir, "union.js")
	if err := os.WriteFile(js, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(node, js, paths[0], paths[1]).CombinedOutput()
	if err != nil {
		t.Fatalf("DuckDB UNION ALL: %v: %s", err, out)
	}
	var want int
	for _, name := range exportFixtures {
		s, err := Load(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		want += len(s.Runs)
	}
	if got := strings.TrimSpace(string(out)); got != strconv.Itoa(want)+" 2 DOUBLE" {
		t.Errorf("DuckDB: %q, want %d rows of 2 studies, decoder.temperature DOUBLE", got, want)
	}
}
