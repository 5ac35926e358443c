package results

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckResult: a result.json counts only when it is the run's own,
// complete, schema-conforming result with the files it names.
func TestCheckResult(t *testing.T) {
	good := ExperimentResult{SchemaVersion: SchemaVersion, MeasurementConfigHash: "aaaa", Cycle: 2, TimeseriesPath: TimeseriesFile}
	goodJSON, _ := json.MarshalIndent(good, "", "  ")
	sibling := good
	sibling.MeasurementConfigHash = "bbbb"
	siblingJSON, _ := json.Marshal(sibling)
	otherCycle := good
	otherCycle.Cycle = 1
	otherCycleJSON, _ := json.Marshal(otherCycle)
	missingTS := good
	missingTS.TimeseriesPath = "gone.parquet"
	missingTSJSON, _ := json.Marshal(missingTS)
	escaping := good
	escaping.TimeseriesPath = "../run-0000/timeseries.parquet"
	escapingJSON, _ := json.Marshal(escaping)

	for _, tc := range []struct {
		name, content, sha, want string
	}{
		{"valid", string(goodJSON), "", ""},
		{"null", "null", "", "is null"},
		{"empty object", "{}", "", "no schema_version"},
		{"empty file", "", "", "does not parse"},
		{"truncated", string(goodJSON[:len(goodJSON)/2]), "", "does not parse"},
		{"sibling's result", string(siblingJSON), "", `configuration "bbbb"`},
		{"other cycle", string(otherCycleJSON), "", "cycle 1"},
		{"unknown field", `{"schema_version":"2.0","measurement_config_hash":"aaaa","cycle":2,"bogus":1}`, "", "unknown field"},
		{"trailing data", string(goodJSON) + "{}", "", "after the result"},
		{"missing time series", string(missingTSJSON), "", "gone.parquet, which is missing"},
		{"time series outside", string(escapingJSON), "", "outside its directory"},
		{"checksum differs", string(goodJSON), "00112233445566778899", "checksum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, TimeseriesFile), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, ResultFile)
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			r, sum, err := CheckResult(path, "aaaa", 2, tc.sha)
			if tc.want == "" {
				if err != nil || r == nil || len(sum) != 64 {
					t.Fatalf("CheckResult = %v, %q, %v; want the result", r, sum, err)
				}
				if _, _, err := CheckResult(path, "aaaa", 2, sum); err != nil {
					t.Errorf("with its own checksum: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidResult) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("err = %v, want ErrInvalidResult naming %s and saying %q", err, path, tc.want)
			}
		})
	}
	if _, _, err := CheckResult(filepath.Join(t.TempDir(), "none.json"), "aaaa", 2, ""); !errors.Is(err, ErrInvalidResult) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
