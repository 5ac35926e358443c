package report

import (
	"bytes"
	"encoding/csv"
	"slices"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// TestExportMemoryIsMiBAndEmptyWhenUnmeasured checks the export's memory
// column: it is named for its unit (the harness records MiB, 2^20 bytes)
// and is empty, not 0, on a run where no GPU memory was measured.
func TestExportMemoryIsMiBAndEmptyWhenUnmeasured(t *testing.T) {
	s, _ := loadFixture(t, "generated-partial") // a CPU study: nothing measures memory
	s.Runs[1].Result.Compute.PeakMemoryMB = 1536
	var buf bytes.Buffer
	if err := Export(&buf, s, "csv"); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(recs[0], "peak_memory_mb") {
		t.Errorf("header %v names MiB as MB", recs[0])
	}
	col := slices.Index(recs[0], "peak_memory_mib")
	if col < 0 {
		t.Fatalf("no peak_memory_mib column in %v", recs[0])
	}
	if got := recs[1][col]; got != "" {
		t.Errorf("run 0 (no memory measured): peak_memory_mib = %q, want empty", got)
	}
	if got := recs[2][col]; got != "1536" {
		t.Errorf("run 1: peak_memory_mib = %q, want 1536", got)
	}

	buf.Reset()
	if err := Export(&buf, s, "parquet"); err != nil {
		t.Fatal(err)
	}
	type row struct {
		Mem *float64 `parquet:"peak_memory_mib,optional"`
	}
	rows, err := parquet.Read[row](bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if rows[0].Mem != nil {
		t.Errorf("parquet run 0: peak_memory_mib = %g, want null", *rows[0].Mem)
	}
	if rows[1].Mem == nil || *rows[1].Mem != 1536 {
		t.Errorf("parquet run 1: peak_memory_mib = %v, want 1536", rows[1].Mem)
	}
}
