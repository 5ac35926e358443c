package results

import (
	"path/filepath"
	"slices"
	"testing"
)

// TestRunsParquetMemoryIsMiBAndNullWhenUnmeasured checks the run table's
// memory column: named for its unit (the harness records MiB, 2^20 bytes)
// and null, not 0, on a run where nothing measured it.
func TestRunsParquetMemoryIsMiBAndNullWhenUnmeasured(t *testing.T) {
	var recs []RunRecord
	for i, mem := range []float64{0, 1536} {
		r := &ExperimentResult{MeasurementConfigHash: "h", Cycle: 1, Compute: ComputeMetrics{PeakMemoryMB: mem}}
		recs = append(recs, RunRecord{Index: i, Cycle: 1, State: StateCompleted, Config: &r.Config, Result: r})
	}
	path := filepath.Join(t.TempDir(), ResultsParquetFile)
	if err := RunTable(recs).WriteFile(path, FormatParquet); err != nil {
		t.Fatal(err)
	}
	got, _, err := ReadTableParquet(path)
	if err != nil {
		t.Fatal(err)
	}
	col := slices.IndexFunc(got.Columns, func(c Column) bool { return c.Name == "peak_memory_mib" })
	if col < 0 || len(got.Rows) != 2 {
		t.Fatalf("peak_memory_mib at %d, %d rows", col, len(got.Rows))
	}
	if got.Rows[0][col] != nil {
		t.Errorf("run without memory measured: peak_memory_mib = %v, want null", got.Rows[0][col])
	}
	if got.Rows[1][col] != 1536.0 {
		t.Errorf("peak_memory_mib = %v, want 1536", got.Rows[1][col])
	}
}
