package study

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/results"
)

// taskRun adapts the test child's run function to RunTask.
func taskRun(ctx context.Context, req ChildRequest, log io.Writer) (*results.ExperimentResult, error) {
	io.WriteString(log, "measuring in the test task\n")
	return testChildRun(ctx, req)
}

func prepared(t *testing.T, sc *config.StudyConfig) (string, []config.Run) {
	t.Helper()
	dir, plan, err := Prepare(sc, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m, err := results.ReadManifest(filepath.Join(dir, results.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Runs) != len(plan) || m.Counts()[results.StatePending] != len(plan) {
		t.Fatalf("prepared manifest: %d runs, %v; want %d pending", len(m.Runs), m.Counts(), len(plan))
	}
	return dir, plan
}

func runDir(dir string, r config.Run) string {
	return filepath.Join(dir, results.RunDirName(r.Index, r.Cycle, r.MeasurementConfigHash))
}

func TestRunTaskAndGather(t *testing.T) {
	sc := sweep("detached", config.OrderSequential, 2, []int{1, 2}, []string{"fp32"}, nil)
	dir, plan := prepared(t, sc)
	for i := 0; i < 3; i++ {
		if err := RunTask(context.Background(), dir, i, taskRun, TaskOptions{NoGaps: true, Where: "test"}); err != nil {
			t.Fatalf("task %d: %v", i, err)
		}
	}
	fail := func(context.Context, ChildRequest, io.Writer) (*results.ExperimentResult, error) {
		return nil, errors.New("engine refused the configuration")
	}
	err := RunTask(context.Background(), dir, 3, fail, TaskOptions{NoGaps: true})
	if err == nil || !strings.Contains(err.Error(), "engine refused") {
		t.Fatalf("failing task: %v", err)
	}

	res, err := Gather(dir, GatherOptions{Runner: "slurm", NoGaps: true})
	if err != nil {
		t.Fatal(err)
	}
	if s := res.Summary; s.Completed != 3 || s.Failed != 1 || s.Pending != 0 || res.Runner != "slurm" || !res.MeasurementProtocol.GapsSkipped {
		t.Fatalf("summary %+v runner %s protocol %+v", s, res.Runner, res.MeasurementProtocol)
	}
	if len(res.Configurations) != 2 || res.Configurations[0].EnergyPerOutputTokenJ.N != 2 || res.Configurations[1].EnergyPerOutputTokenJ.N != 1 {
		t.Errorf("configurations: %+v", res.Configurations)
	}
	if len(res.Failed) != 1 || res.Failed[0].RunIndex != 3 || res.Failed[0].ErrorType != "experiment_error" {
		t.Errorf("failed: %+v", res.Failed)
	}
	m, err := results.ReadManifest(filepath.Join(dir, results.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range m.Runs {
		want := results.StateCompleted
		if i == 3 {
			want = results.StateFailed
		}
		if r.State != want || r.StartedAt == nil || r.EndedAt == nil {
			t.Errorf("manifest run %d: %+v, want %s with times", i, r, want)
		}
		if want == results.StateCompleted {
			if _, err := os.Stat(filepath.Join(dir, r.ResultPath)); err != nil {
				t.Errorf("run %d: %v", i, err)
			}
		}
	}
	if tail := m.Runs[3].LogTail; !strings.Contains(tail, "llem task: run 3 failed: experiment_error") {
		t.Errorf("log tail of the failed run: %q", tail)
	}
	back, err := results.ReadStudyResult(filepath.Join(dir, results.StudyResultFile))
	if err != nil || back.Summary != res.Summary || len(back.ResultFiles) != 3 {
		t.Errorf("study_result.json: %+v, %v", back, err)
	}
	if _, err := os.Stat(filepath.Join(dir, results.ResultsParquetFile)); err != nil {
		t.Error(err)
	}
	if st, err := os.ReadFile(filepath.Join(runDir(dir, plan[0]), TaskStateFile)); err != nil || !strings.Contains(string(st), `"completed"`) {
		t.Errorf("task state of run 0: %s %v", st, err)
	}
}

func TestGatherMissingRun(t *testing.T) {
	sc := sweep("missing", config.OrderSequential, 1, []int{1, 2}, []string{"fp32"}, nil)
	dir, plan := prepared(t, sc)
	if err := RunTask(context.Background(), dir, 0, taskRun, TaskOptions{NoGaps: true}); err != nil {
		t.Fatal(err)
	}
	fallback := filepath.Join(t.TempDir(), "task-1.out")
	if err := os.WriteFile(fallback, []byte("slurmstepd: error: *** JOB 9 CANCELLED ***\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := func(active bool) GatherOptions {
		return GatherOptions{Runner: "slurm", Active: active, SchedulerLog: func(r config.Run) string {
			if r.Index == 1 {
				return fallback
			}
			return ""
		}}
	}
	check := func(name string, active bool, wantState results.RunState, wantMsg string) {
		t.Helper()
		res, err := Gather(dir, opts(active))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		m, err := results.ReadManifest(filepath.Join(dir, results.ManifestFile))
		if err != nil {
			t.Fatal(err)
		}
		r := m.Runs[1]
		if m.Runs[0].State != results.StateCompleted || r.State != wantState || !strings.Contains(r.Error, wantMsg) {
			t.Errorf("%s: run 1 %s %q, want %s %q", name, r.State, r.Error, wantState, wantMsg)
		}
		switch wantState {
		case results.StateFailed:
			if res.Summary.Failed != 1 || res.Interrupted {
				t.Errorf("%s: summary %+v", name, res.Summary)
			}
		default:
			if res.Summary.Pending != 1 || !res.Interrupted {
				t.Errorf("%s: summary %+v", name, res.Summary)
			}
		}
	}
	check("still queued", true, results.StatePending, "")
	check("never ran", false, results.StateFailed, "never ran")
	m, _ := results.ReadManifest(filepath.Join(dir, results.ManifestFile))
	if !strings.Contains(m.Runs[1].LogTail, "CANCELLED") {
		t.Errorf("log tail from the scheduler's output: %q", m.Runs[1].LogTail)
	}

	// A task that started and was then killed leaves its "running" state.
	rd := runDir(dir, plan[1])
	if err := os.MkdirAll(rd, 0o755); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := results.WriteJSONAtomic(filepath.Join(rd, TaskStateFile), TaskState{State: results.StateRunning, StartedAt: &now, Where: "host n1"}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rd, results.RunLogFile), []byte("llem task: run 1, cycle 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	check("running", true, results.StateRunning, "")
	check("killed", false, results.StateFailed, "started (host n1) but left no result")
	m, _ = results.ReadManifest(filepath.Join(dir, results.ManifestFile))
	if want := "llem task: run 1, cycle 1\n--- task-1.out ---\nslurmstepd: error: *** JOB 9 CANCELLED ***"; m.Runs[1].LogTail != want {
		t.Errorf("log tail %q, want %q", m.Runs[1].LogTail, want)
	}
}

func TestRunTaskRejects(t *testing.T) {
	sc := sweep("reject", config.OrderSequential, 1, []int{1, 2}, []string{"fp32"}, map[string]any{"test_wrong_hash": true})
	dir, plan := prepared(t, sc)
	for _, i := range []int{-1, 2} {
		err := RunTask(context.Background(), dir, i, taskRun, TaskOptions{NoGaps: true})
		if err == nil || !strings.Contains(err.Error(), "out of range") || !strings.Contains(err.Error(), "has 2 runs (indices 0 to 1)") {
			t.Errorf("index %d: %v", i, err)
		}
	}
	err := RunTask(context.Background(), dir, 0, taskRun, TaskOptions{NoGaps: true})
	if err == nil || !strings.Contains(err.Error(), "not the run's") {
		t.Fatalf("wrong configuration measured: %v", err)
	}
	if _, err := os.Stat(filepath.Join(runDir(dir, plan[0]), results.ResultFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a rejected result was kept: %v", err)
	}
	if err := RunTask(context.Background(), t.TempDir(), 0, taskRun, TaskOptions{}); err == nil || !strings.Contains(err.Error(), "is it a study directory") {
		t.Errorf("not a study directory: %v", err)
	}
}

func TestRunTaskWaitsGap(t *testing.T) {
	gap := 0.3
	sc := sweep("gap", config.OrderSequential, 1, []int{1, 2}, []string{"fp32"}, nil)
	sc.Execution.ConfigGapSeconds = &gap
	dir, plan := prepared(t, sc)
	began := time.Now()
	if err := RunTask(context.Background(), dir, 1, taskRun, TaskOptions{}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d < 300*time.Millisecond {
		t.Errorf("task 1 took %s, want at least the 0.3 s config gap", d)
	}
	log, _ := os.ReadFile(filepath.Join(runDir(dir, plan[1]), results.RunLogFile))
	if !strings.Contains(string(log), "waiting the config gap of 0.3s") || !strings.Contains(string(log), "measuring in the test task") {
		t.Errorf("run.log:\n%s", log)
	}
}

// TestPrepareRefusesGPUSettings: a detached task killed by its scheduler
// has no parent to put gpu: settings back, so Prepare refuses them.
func TestPrepareRefusesGPUSettings(t *testing.T) {
	sc := sweep("gpu", config.OrderSequential, 1, []int{1}, []string{"fp32"}, nil)
	pl := 300
	sc.Experiments[0].GPU = &config.GPUConfig{PowerLimitWatts: &pl}
	_, _, err := Prepare(sc, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "sets gpu.power_limit_watts, which detached tasks do not support yet") {
		t.Fatalf("Prepare: %v", err)
	}
}
