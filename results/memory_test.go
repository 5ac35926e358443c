package results

import (
	"path/filepath"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// TestRunsParquetMemoryIsMiBAndNullWhenUnmeasured checks the study's
// results.parquet memory column: named for its unit (the harness records
// MiB, 2^20 bytes) and null, not 0, on a run where nothing measured it.
func TestRunsParquetMemoryIsMiBAndNullWhenUnmeasured(t *testing.T) {
	var rows []RunRow
	for i, mem := range []float64{0, 1536} {
		r := &ExperimentResult{MeasurementConfigHash: "h", Cycle: 1, Compute: ComputeMetrics{PeakMemoryMB: mem}}
		row, err := NewRunRow(i, r, "run/"+ResultFile)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
	path := filepath.Join(t.TempDir(), ResultsParquetFile)
	if err := WriteRunsParquet(path, rows); err != nil {
		t.Fatal(err)
	}
	type memRow struct {
		Mem *float64 `parquet:"peak_memory_mib,optional"`
	}
	got, err := parquet.ReadFile[memRow](path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d rows", len(got))
	}
	if got[0].Mem != nil {
		t.Errorf("run without memory measured: peak_memory_mib = %g, want null", *got[0].Mem)
	}
	if got[1].Mem == nil || *got[1].Mem != 1536 {
		t.Errorf("peak_memory_mib = %v, want 1536", got[1].Mem)
	}
}
