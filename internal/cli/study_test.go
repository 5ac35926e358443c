package cli

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

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
				if _, ok := c.Swept["native.batch_size"]; !ok || len(c.Swept) != 2 {
					t.Errorf("configuration %s: swept values %v, want native.batch_size and dataset.output_len", c.MeasurementConfigHash, c.Swept)
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

// TestStudyTimeoutKillsOnlyThatRun gives one configuration far more work
// than the per-run timeout allows: it is killed and marked failed, the
// others complete, and llem exits 1.
func TestStudyTimeoutKillsOnlyThatRun(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "study.yaml")
	src := `name: timeouts
model: tiny
backend: native
n: 2
dataset: {name: synthetic, input_len: 8, output_len: 4}
baseline: {enabled: false}
warmup: {enabled: false}
experiments:
  - {native: {batch_size: 1}}
  - {model: stories15M, n: 50, dataset: {name: synthetic, input_len: 64, output_len: 512}}
  - {native: {batch_size: 2}}
execution: {n_cycles: 1}
`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "results")
	code, stdout, errOut := runCLI(t, nil, "run", file, "--no-gaps", "--order", "sequential", "--timeout", "3s", "--output", out)
	if code != ExitRunsFailed {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, stdout, errOut)
	}
	dirs, _ := filepath.Glob(filepath.Join(out, "timeouts_*"))
	if len(dirs) != 1 {
		t.Fatalf("study dirs %v", dirs)
	}
	m, err := results.ReadManifest(filepath.Join(dirs[0], "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	states := map[results.RunState]int{}
	for _, r := range m.Runs {
		states[r.State]++
		if r.State == results.StateFailed && (r.ErrorType != "timeout" || r.LogTail == "") {
			t.Errorf("failed run %d: type %q, log tail %q", r.Index, r.ErrorType, r.LogTail)
		}
	}
	if states[results.StateCompleted] != 2 || states[results.StateFailed] != 1 {
		t.Errorf("states %v, want 2 completed and 1 failed", states)
	}
	if !strings.Contains(stdout, "FAILED") {
		t.Errorf("summary should list the failure:\n%s", stdout)
	}
}

// TestKilledStudyResumes runs llem as its own process, kills it with
// SIGKILL mid-study, then resumes: every completed result stays byte for
// byte, no run executes twice, and the study finishes.
func TestKilledStudyResumes(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "study.yaml")
	src := strings.Replace(tinyStudy, "execution: {n_cycles: 2}", "execution: {n_cycles: 2, cycle_order: interleaved, config_gap_seconds: 0.4, cycle_gap_seconds: 0.4}", 1)
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "results")
	cmd := exec.Command(os.Args[0], "run", file, "--output", out)
	cmd.Env = append(os.Environ(), asLlemEnv+"=1")
	var logBuf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logBuf, &logBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until some but not all runs are done, then kill llem outright.
	var sd string
	deadline := time.Now().Add(60 * time.Second)
	for {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("study never reached 2 completed runs:\n%s", logBuf.String())
		}
		dirs, _ := filepath.Glob(filepath.Join(out, "tinystudy_*"))
		if len(dirs) == 1 {
			sd = dirs[0]
			if m, err := results.ReadManifest(filepath.Join(sd, "manifest.json")); err == nil && m.Counts()[results.StateCompleted] >= 2 {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	before, err := results.ReadManifest(filepath.Join(sd, "manifest.json"))
	if err != nil {
		t.Fatalf("manifest after SIGKILL: %v", err)
	}
	done := map[int]string{} // run index → sha256 of its result.json
	for _, r := range before.Runs {
		if r.State == results.StateCompleted {
			done[r.Index] = sha256File(t, filepath.Join(sd, r.ResultPath))
		}
	}
	if len(done) < 2 || len(done) == 8 {
		t.Fatalf("%d runs completed before the kill; the test needs a study cut in the middle", len(done))
	}

	code, stdout, errOut := runCLI(t, nil, "run", file, "--resume", sd, "--no-gaps")
	if code != 0 {
		t.Fatalf("resume exit %d\n%s\n%s", code, stdout, errOut)
	}
	after, err := results.ReadManifest(filepath.Join(sd, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range after.Runs {
		if r.State != results.StateCompleted {
			t.Errorf("run %d is %s after resume", r.Index, r.State)
		}
		if sum, ok := done[r.Index]; ok && sha256File(t, filepath.Join(sd, r.ResultPath)) != sum {
			t.Errorf("run %d: result.json changed on resume", r.Index)
		}
	}
	// No run done twice: one run directory per run, each with one result.
	runDirs, _ := filepath.Glob(filepath.Join(sd, "run-*"))
	if len(runDirs) != 8 {
		t.Errorf("%d run directories, want 8", len(runDirs))
	}
	if want := 8 - len(done); !strings.Contains(stdout, "8 completed") || !strings.Contains(errOut+stdout, fmt.Sprintf("%d of 8 runs to do", want)) {
		t.Errorf("resume should run only the %d missing runs:\n%s\n%s", want, stdout, errOut)
	}
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// TestResumeFromDirectoryKeepsTheStudy resumes a finished study from its
// directory alone: nothing runs again and the cycle count stays as run.
func TestResumeFromDirectoryKeepsTheStudy(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "study.yaml")
	if err := os.WriteFile(file, []byte(tinyStudy), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "results")
	if code, stdout, errOut := runCLI(t, nil, "run", file, "--no-gaps", "--output", out, "-q"); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, errOut)
	}
	dirs, _ := filepath.Glob(filepath.Join(out, "tinystudy_*"))
	if len(dirs) != 1 {
		t.Fatalf("study dirs %v", dirs)
	}
	code, stdout, errOut := runCLI(t, nil, "run", "--resume", dirs[0], "--no-gaps")
	if code != 0 {
		t.Fatalf("resume exit %d\n%s\n%s", code, stdout, errOut)
	}
	if !strings.Contains(stdout, "8 completed") || !strings.Contains(errOut, "0 of 8 runs to do") {
		t.Errorf("resuming a finished study should run nothing:\n%s\n%s", stdout, errOut)
	}
}

// TestRunJSONEnvelope checks `llem run --json` prints one envelope for a
// single experiment and for a study: the same top-level keys, study_dir the
// folder written, result the experiment's or the study's result.
func TestRunJSONEnvelope(t *testing.T) {
	dir := t.TempDir()
	single := writeTinyExperiment(t, dir, "")
	study := filepath.Join(dir, "study.yaml")
	src := "name: envelope\nmodel: tiny\nbackend: native\nn: 2\ndataset: {name: synthetic, input_len: 8, output_len: 4}\nbaseline: {enabled: false}\nwarmup: {enabled: false}\nsweep:\n  native.batch_size: [1, 2]\n"
	if err := os.WriteFile(study, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file, kind, resultKey string
	}{
		{single, "experiment", "measurement_config_hash"},
		{study, "study", "study_id"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			code, stdout, errOut := runCLI(t, nil, "run", tc.file, "--no-gaps", "--json", "--output", filepath.Join(dir, "out-"+tc.kind))
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, errOut)
			}
			var env map[string]json.RawMessage
			if err := json.Unmarshal([]byte(stdout), &env); err != nil {
				t.Fatalf("%v\n%s", err, stdout)
			}
			keys := slices.Sorted(maps.Keys(env))
			if !slices.Equal(keys, []string{"kind", "result", "study_dir"}) {
				t.Errorf("top-level keys %v", keys)
			}
			var kind, sd string
			var result map[string]json.RawMessage
			if json.Unmarshal(env["kind"], &kind) != nil || json.Unmarshal(env["study_dir"], &sd) != nil || json.Unmarshal(env["result"], &result) != nil {
				t.Fatalf("envelope %s", stdout)
			}
			if kind != tc.kind || result[tc.resultKey] == nil {
				t.Errorf("kind %q, result keys %v", kind, slices.Sorted(maps.Keys(result)))
			}
			if _, err := os.Stat(filepath.Join(sd, results.StudyResultFile)); err != nil {
				t.Errorf("study_dir %q: %v", sd, err)
			}
		})
	}
}
