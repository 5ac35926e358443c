package study

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/internal/schemagen"
	"github.com/llenergymeasure/llem/results"
)

// TestManifestFilesMatchSchemas checks what the manifest store writes (the
// snapshot and each journal line, which a finished study no longer has)
// against schema/manifest.schema.json and manifest.journal.schema.json.
func TestManifestFilesMatchSchemas(t *testing.T) {
	v, err := schemagen.NewValidator("../../schema")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s, err := createManifestStore(dir, testManifest(4), newFakeClock().Now)
	if err != nil {
		t.Fatal(err)
	}
	start, end, temp := time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC), time.Date(2026, 1, 1, 0, 0, 9, 0, time.UTC), 41.5
	for _, r := range []results.ManifestRun{
		{Index: 0, Cycle: 1, MeasurementConfigHash: "h", State: results.StateRunning, StartedAt: &start, StartTempC: &temp},
		{Index: 0, Cycle: 1, MeasurementConfigHash: "h", State: results.StateCompleted, StartedAt: &start, EndedAt: &end,
			ResultPath: "run-0000-c1-h/result.json", ResultSHA256: "00ff", StartTempC: &temp, EndTempC: &temp},
		{Index: 1, Cycle: 1, MeasurementConfigHash: "h", State: results.StateFailed, Error: "boom", ErrorType: "crashed", LogTail: "a\nb"},
	} {
		if err := s.update(r); err != nil {
			t.Fatal(err)
		}
	}
	journal, err := os.ReadFile(filepath.Join(dir, results.ManifestJournalFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	for sc := bufio.NewScanner(bytes.NewReader(journal)); sc.Scan(); lines++ {
		if err := v.Validate("manifest.journal.schema.json", sc.Bytes()); err != nil {
			t.Errorf("journal line %d does not match the schema: %v\n%s", lines+1, err, sc.Bytes())
		}
	}
	if lines != 3 {
		t.Fatalf("journal has %d lines, want 3", lines)
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	snapshot, err := os.ReadFile(filepath.Join(dir, results.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Validate("manifest.schema.json", snapshot); err != nil {
		t.Errorf("manifest.json does not match the schema: %v", err)
	}
}
