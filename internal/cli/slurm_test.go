package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/slurm"
	"github.com/llenergymeasure/llem/internal/study"
	"github.com/llenergymeasure/llem/results"
)

// twoRunStudy is tinyStudy cut to two runs: batch 1 and 2, one cycle.
const twoRunStudy = `name: tworuns
model: tiny
backend: native
n: 4
dataset: {name: synthetic, input_len: 8, output_len: 8}
baseline: {enabled: false}
warmup: {enabled: false}
sweep:
  native.batch_size: [1, 2]
execution: {n_cycles: 1}
`

// preparedStudy creates the study directory of twoRunStudy as
// `llem run --scheduler slurm` does before submitting, with its submission
// record.
func preparedStudy(t *testing.T) (string, []config.Run) {
	t.Helper()
	tmp := t.TempDir()
	file := filepath.Join(tmp, "study.yaml")
	if err := os.WriteFile(file, []byte(twoRunStudy), 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	dir, plan, err := study.Prepare(sc, filepath.Join(tmp, "results"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, slurm.Dir), 0o755); err != nil {
		t.Fatal(err)
	}
	sub := slurm.Submission{JobID: "77", Tasks: len(plan), Concurrency: 1, NoGaps: true}
	if err := results.WriteJSONAtomic(filepath.Join(dir, slurm.Dir, slurm.SubmissionFile), sub); err != nil {
		t.Fatal(err)
	}
	return dir, plan
}

func runTask(t *testing.T, dir string, i int) (int, string) {
	t.Helper()
	code, _, errOut := runCLI(t, map[string]string{"SLURM_ARRAY_TASK_ID": strconv.Itoa(i), "SLURM_ARRAY_JOB_ID": "77"}, arrayTaskCommand, dir, "--no-gaps")
	return code, errOut
}

// TestArrayTasksThenGather runs both array tasks in-process on the native
// engine, then gathers the study.
func TestArrayTasksThenGather(t *testing.T) {
	dir, plan := preparedStudy(t)
	for i := range plan {
		if code, errOut := runTask(t, dir, i); code != 0 {
			t.Fatalf("task %d: exit %d\n%s", i, code, errOut)
		}
		rd := filepath.Join(dir, results.RunDirName(plan[i].Index, plan[i].Cycle, plan[i].MeasurementConfigHash))
		for _, f := range []string{results.ResultFile, results.TimeseriesFile, results.RunLogFile, study.TaskStateFile} {
			if _, err := os.Stat(filepath.Join(rd, f)); err != nil {
				t.Errorf("task %d: %v", i, err)
			}
		}
	}
	code, out, errOut := runCLI(t, nil, "gather", dir, "--ended")
	if code != 0 {
		t.Fatalf("gather: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "2 completed, 0 failed") || !strings.Contains(out, "job 77 has ended") {
		t.Errorf("gather output:\n%s", out)
	}
	res, err := results.ReadStudyResult(filepath.Join(dir, results.StudyResultFile))
	if err != nil {
		t.Fatal(err)
	}
	if res.Runner != "slurm" || res.Summary.Completed != 2 || len(res.ResultFiles) != 2 || len(res.Configurations) != 2 {
		t.Fatalf("study_result.json: runner %s summary %+v files %v", res.Runner, res.Summary, res.ResultFiles)
	}
	for _, c := range res.Configurations {
		if c.EnergyPerOutputTokenJ.N != 1 || c.EnergyPerOutputTokenJ.Mean <= 0 || c.OutputTokensPerS.Mean <= 0 {
			t.Errorf("configuration %s: %+v", c.MeasurementConfigHash, c)
		}
	}
	m, err := results.ReadManifest(filepath.Join(dir, results.ManifestFile))
	if err != nil || m.Counts()[results.StateCompleted] != 2 {
		t.Errorf("manifest: %v %v", m.Counts(), err)
	}
	if _, err := os.Stat(filepath.Join(dir, results.ResultsParquetFile)); err != nil {
		t.Error(err)
	}
}

func TestGatherAfterLostTask(t *testing.T) {
	dir, _ := preparedStudy(t)
	if code, errOut := runTask(t, dir, 0); code != 0 {
		t.Fatalf("task 0: exit %d\n%s", code, errOut)
	}
	if err := os.WriteFile(filepath.Join(dir, slurm.Dir, slurm.TaskOutput(1)), []byte("slurmstepd: error: *** JOB 77 ON vm CANCELLED ***\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI(t, nil, "gather", dir, "--ended")
	if code != ExitRunsFailed || !strings.Contains(out, "1 completed, 1 failed") || !strings.Contains(out, "FAILED run 1") || !strings.Contains(out, "never ran") {
		t.Fatalf("gather: exit %d\n%s", code, out)
	}
	m, err := results.ReadManifest(filepath.Join(dir, results.ManifestFile))
	if err != nil || !strings.Contains(m.Runs[1].LogTail, "CANCELLED") {
		t.Errorf("run 1 log tail %q, %v", m.Runs[1].LogTail, err)
	}
}

func TestArrayTaskErrors(t *testing.T) {
	dir, _ := preparedStudy(t)
	code, errOut := runTask(t, dir, 2)
	if code == 0 || !strings.Contains(errOut, "task index 2 is out of range") || !strings.Contains(errOut, "has 2 runs") {
		t.Errorf("index 2: exit %d\n%s", code, errOut)
	}
	code, _, errOut = runCLI(t, map[string]string{"SLURM_ARRAY_TASK_ID": ""}, arrayTaskCommand, dir)
	if code != ExitBadInput || !strings.Contains(errOut, "SLURM_ARRAY_TASK_ID is not set") {
		t.Errorf("no task id: exit %d\n%s", code, errOut)
	}
	code, _, errOut = runCLI(t, nil, "gather", t.TempDir(), "--ended")
	if code != ExitBadInput || !strings.Contains(errOut, "submitted with llem run --scheduler slurm") {
		t.Errorf("gather elsewhere: exit %d\n%s", code, errOut)
	}
}

func TestSchedulerFlagErrors(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "study.yaml")
	if err := os.WriteFile(file, []byte(twoRunStudy), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "results")
	code, _, errOut := runCLI(t, nil, "run", file, "--scheduler", "pbs", "-o", out)
	if code != ExitBadInput || !strings.Contains(errOut, `unknown --scheduler "pbs"`) {
		t.Errorf("unknown scheduler: exit %d\n%s", code, errOut)
	}
	t.Setenv("PATH", t.TempDir()) // no sbatch
	code, _, errOut = runCLI(t, nil, "run", file, "--scheduler", "slurm", "-o", out)
	if code == 0 || !strings.Contains(errOut, "Slurm is not installed") || !strings.Contains(errOut, "without --scheduler") {
		t.Errorf("no sbatch: exit %d\n%s", code, errOut)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a study directory was created although nothing could be submitted: %v", err)
	}
}

// TestSlurmEndToEnd submits tinyStudy to a real Slurm cluster with a built
// llem binary and waits for it (LLEM_TEST_SLURM=1; scripts/slurm-cluster.sh
// starts a one-node cluster on this machine).
func TestSlurmEndToEnd(t *testing.T) {
	if os.Getenv("LLEM_TEST_SLURM") != "1" {
		t.Skip("needs a Slurm cluster: run scripts/slurm-cluster.sh (as root) and set LLEM_TEST_SLURM=1")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "llem")
	build := exec.Command("go", "build", "-o", bin, "github.com/llenergymeasure/llem/cmd/llem")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	file := filepath.Join(tmp, "tinystudy.yaml")
	if err := os.WriteFile(file, []byte(tinyStudy), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "results")
	began := time.Now()
	cmd := exec.Command(bin, "run", file, "--scheduler", "slurm", "--wait", "--no-gaps", "--slurm-opt=--partition=debug", "-o", out)
	b, err := cmd.CombinedOutput()
	t.Logf("llem run --scheduler slurm --wait: %s\n%s", time.Since(began).Round(time.Millisecond), b)
	if err != nil {
		t.Fatalf("llem run: %v", err)
	}
	dirs, _ := filepath.Glob(filepath.Join(out, "tinystudy_*"))
	if len(dirs) != 1 {
		t.Fatalf("study dirs: %v", dirs)
	}
	sd := dirs[0]
	res, err := results.ReadStudyResult(filepath.Join(sd, results.StudyResultFile))
	if err != nil {
		t.Fatal(err)
	}
	if s := res.Summary; s.Completed != 8 || s.Failed != 0 || s.Pending != 0 || res.Runner != "slurm" || len(res.ResultFiles) != 8 {
		t.Fatalf("study_result.json: runner %s summary %+v failed %+v", res.Runner, s, res.Failed)
	}
	if len(res.Configurations) != 4 {
		t.Fatalf("%d configurations, want 4", len(res.Configurations))
	}
	for _, c := range res.Configurations {
		if c.EnergyPerOutputTokenJ.N != 2 || c.Completed != 2 {
			t.Errorf("configuration %s: %d completed, energy n=%d; want 2 cycles", c.MeasurementConfigHash, c.Completed, c.EnergyPerOutputTokenJ.N)
		}
	}
	m, err := results.ReadManifest(filepath.Join(sd, results.ManifestFile))
	if err != nil || m.Counts()[results.StateCompleted] != 8 {
		t.Fatalf("manifest: %v %v", m.Counts(), err)
	}
	for _, r := range m.Runs {
		st, err := os.ReadFile(filepath.Join(sd, filepath.Dir(r.ResultPath), study.TaskStateFile))
		if err != nil || !strings.Contains(string(st), "Slurm job") {
			t.Errorf("run %d task state: %s %v", r.Index, st, err)
		}
	}
	script, err := os.ReadFile(filepath.Join(sd, slurm.Dir, slurm.ScriptFile))
	if err != nil || !strings.Contains(string(script), "#SBATCH --array=0-7%1") || !strings.Contains(string(script), "#SBATCH --partition=debug") {
		t.Errorf("array.sbatch:\n%s %v", script, err)
	}
}
