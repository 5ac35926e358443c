package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llenergymeasure/llem/results"
)

const tinyStudy = `name: tinystudy
model: tiny
backend: native
n: 4
dataset: {name: synthetic, input_len: 8, output_len: 8}
baseline: {enabled: false}
warmup: {enabled: false}
sweep:
  native.batch_size: [1, 2]
  dataset.output_len: [4, 8]
execution: {n_cycles: 2}
`

// TestStudyEndToEnd runs a 2×2 sweep × 2 cycles in each order with real
// child processes on the native engine and checks every output file.
func TestStudyEndToEnd(t *testing.T) {
	for _, order := range []string{"sequential", "interleaved", "shuffled"} {
		t.Run(order, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "study.yaml")
			if err := os.WriteFile(file, []byte(tinyStudy), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "results")
			code, stdout, errOut := runCLI(t, nil, "run", file, "--order", order, "--no-gaps", "--output", out)
			if code != 0 {
				t.Fatalf("exit %d\n%s\n%s", code, stdout, errOut)
			}
			dirs, _ := filepath.Glob(filepath.Join(out, "tinystudy_*"))
			if len(dirs) != 1 {
				t.Fatalf("study dirs: %v", dirs)
			}
			sd := dirs[0]
			m, err := results.ReadManifest(filepath.Join(sd, "manifest.json"))
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Runs) != 8 {
				t.Fatalf("manifest has %d runs, want 8", len(m.Runs))
			}
			cycles := map[int]int{}
			for _, r := range m.Runs {
				if r.State != results.StateCompleted {
					t.Errorf("run %d: state %s (%s)", r.Index, r.State, r.Error)
					continue
				}
				cycles[r.Cycle]++
				res, err := results.ReadExperimentResult(filepath.Join(sd, r.ResultPath))
				if err != nil {
					t.Errorf("run %d result: %v", r.Index, err)
					continue
				}
				if res.MeasurementConfigHash != r.MeasurementConfigHash || res.Cycle != r.Cycle {
					t.Errorf("run %d: result is %s cycle %d, manifest says %s cycle %d", r.Index, res.MeasurementConfigHash, res.Cycle, r.MeasurementConfigHash, r.Cycle)
				}
				if _, err := os.Stat(filepath.Join(sd, filepath.Dir(r.ResultPath), "timeseries.parquet")); err != nil {
					t.Errorf("run %d: %v", r.Index, err)
				}
			}
			if cycles[1] != 4 || cycles[2] != 4 {
				t.Errorf("completed runs per cycle: %v", cycles)
			}
			if order == "sequential" && m.Runs[0].MeasurementConfigHash != m.Runs[1].MeasurementConfigHash {
				t.Error("sequential: the first two runs should be the two cycles of one configuration")
			}
			if order == "interleaved" && (m.Runs[0].Cycle != 1 || m.Runs[3].Cycle != 1 || m.Runs[4].Cycle != 2) {
				t.Error("interleaved: cycle 1 should run every configuration before cycle 2")
			}
			sr, err := results.ReadStudyResult(filepath.Join(sd, "study_result.json"))
			if err != nil {
				t.Fatal(err)
			}
			if sr.Summary.Completed != 8 || sr.Summary.Failed != 0 || len(sr.ResultFiles) != 8 || len(sr.Configurations) != 4 {
				t.Errorf("study result summary %+v, %d files, %d configurations", sr.Summary, len(sr.ResultFiles), len(sr.Configurations))
			}
			for _, c := range sr.Configurations {
				if c.EnergyPerOutputTokenJ.N != 2 || c.EnergyPerOutputTokenJ.Mean <= 0 {
					t.Errorf("configuration %s: %+v", c.MeasurementConfigHash, c.EnergyPerOutputTokenJ)
				}
			}
			for _, f := range []string{"results.parquet", "study.json"} {
				if _, err := os.Stat(filepath.Join(sd, f)); err != nil {
					t.Error(err)
				}
			}
			if !strings.Contains(stdout, "8 completed, 0 failed") {
				t.Errorf("summary:\n%s", stdout)
			}
		})
	}
}
