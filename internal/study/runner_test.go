package study

import (
	"context"
	"errors"
	"github.com/llenergymeasure/llem/event"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/results"
)

// TestChildrenReceiveTheMachineSnapshot: the host snapshot the parent took
// once reaches every child in its request.
func TestChildrenReceiveTheMachineSnapshot(t *testing.T) {
	sc := sweep("machine", config.OrderSequential, 2, []int{1}, []string{"fp32"}, nil)
	opts := childOptions(t)
	opts.Machine = &results.EnvironmentSnapshot{OS: "linux testos 1", Hostname: "parent-host", CPUThreads: 7, GPUs: []results.GPUInfo{}}
	res, err := Run(context.Background(), sc, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.ResultFiles) != 2 {
		t.Fatalf("result files %v", res.ResultFiles)
	}
	dir := studyDir(t, opts.ResultsDir)
	for _, f := range res.ResultFiles {
		er, err := results.ReadExperimentResult(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if e := er.Environment; e.Hostname != "parent-host" || e.OS != "linux testos 1" || e.CPUThreads != 7 {
			t.Errorf("%s: environment %+v, want the parent's machine snapshot", f, e)
		}
	}
}

// TestOrdersRealChildren runs a 2×2 sweep × 2 cycles in each order with
// real child processes and checks results, manifest and study files.
func TestOrdersRealChildren(t *testing.T) {
	for _, order := range []config.CycleOrder{config.OrderSequential, config.OrderInterleaved, config.OrderShuffled} {
		t.Run(string(order), func(t *testing.T) {
			sc := sweep("sweep "+string(order), order, 2, []int{1, 4}, []string{"fp32", "fp16"}, nil)
			opts := childOptions(t)
			rec := &recorder{}
			opts.Observer = rec
			res, err := Run(context.Background(), sc, opts)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if res.Summary.Completed != 8 || res.Summary.Failed != 0 || res.Summary.Generated != 8 || len(res.ResultFiles) != 8 {
				t.Fatalf("summary %+v, %d result files; want 8 completed", res.Summary, len(res.ResultFiles))
			}
			dir := studyDir(t, opts.ResultsDir)
			m, err := results.ReadManifest(filepath.Join(dir, results.ManifestFile))
			if err != nil {
				t.Fatal(err)
			}
			want := config.Plan(sc)
			var lastStart time.Time
			for i, mr := range m.Runs {
				if mr.State != results.StateCompleted || mr.StartedAt == nil || mr.EndedAt == nil {
					t.Fatalf("run %d: %+v", i, mr)
				}
				if mr.Cycle != want[i].Cycle || mr.MeasurementConfigHash != want[i].MeasurementConfigHash {
					t.Errorf("run %d is (%s, c%d), plan says (%s, c%d)", i, mr.MeasurementConfigHash, mr.Cycle, want[i].MeasurementConfigHash, want[i].Cycle)
				}
				if mr.StartedAt.Before(lastStart) {
					t.Errorf("run %d started before run %d: order not followed", i, i-1)
				}
				lastStart = *mr.StartedAt
				er, err := results.ReadExperimentResult(filepath.Join(dir, mr.ResultPath))
				if err != nil {
					t.Fatal(err)
				}
				if er.Cycle != mr.Cycle || er.MeasurementConfigHash != mr.MeasurementConfigHash {
					t.Errorf("result %s: cycle %d hash %s", mr.ResultPath, er.Cycle, er.MeasurementConfigHash)
				}
				if _, err := os.Stat(filepath.Join(dir, filepath.Dir(mr.ResultPath), results.RunLogFile)); err != nil {
					t.Errorf("run log: %v", err)
				}
			}
			sr, err := results.ReadStudyResult(filepath.Join(dir, results.StudyResultFile))
			if err != nil {
				t.Fatal(err)
			}
			if sr.StudyDesignHash != config.StudyDesignHash(sc) || len(sr.Configurations) != 4 || sr.MeasurementProtocol.CycleOrder != string(order) {
				t.Errorf("study result: hash %s, %d configurations, order %q", sr.StudyDesignHash, len(sr.Configurations), sr.MeasurementProtocol.CycleOrder)
			}
			for _, cs := range sr.Configurations {
				b := float64(*cs.Config.Native.BatchSize)
				// cycles 1 and 2 give 0.1b+0.01 and 0.1b+0.02.
				if cs.EnergyPerOutputTokenJ.N != 2 || !near(cs.EnergyPerOutputTokenJ.Mean, 0.1*b+0.015) || cs.EnergyPerOutputTokenJ.CIHigh <= cs.EnergyPerOutputTokenJ.Mean {
					t.Errorf("config %s: energy per token %+v", cs.MeasurementConfigHash, cs.EnergyPerOutputTokenJ)
				}
			}
			tab, _, err := results.ReadTableParquet(filepath.Join(dir, results.ResultsParquetFile))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(tab.Columns, results.RunColumns()) {
				t.Errorf("results.parquet columns %v", tab.Columns)
			}
			backend := slices.IndexFunc(tab.Columns, func(c results.Column) bool { return c.Name == "backend" })
			batch := slices.IndexFunc(tab.Columns, func(c results.Column) bool { return c.Name == "native.batch_size" })
			if len(tab.Rows) != 8 || tab.Rows[0][backend] != "native" || tab.Rows[0][batch] == nil {
				t.Fatalf("parquet: %d rows, first %v", len(tab.Rows), tab.Rows[0])
			}
			if _, err := os.Stat(filepath.Join(dir, results.StudyConfigFile)); err != nil {
				t.Error(err)
			}
			if rec.count(event.RunStart) != 8 || rec.count(event.RunEnd) != 8 || rec.count(event.RunPhase) != 16 || rec.count(event.StudyEnd) != 1 {
				t.Errorf("events: %d starts, %d ends, %d phases", rec.count(event.RunStart), rec.count(event.RunEnd), rec.count(event.RunPhase))
			}
		})
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

// studyDir returns the one study directory under root.
func studyDir(t *testing.T, root string) string {
	t.Helper()
	ents, err := os.ReadDir(root)
	if err != nil || len(ents) != 1 {
		t.Fatalf("results dir %s: %v entries, %v", root, len(ents), err)
	}
	return filepath.Join(root, ents[0].Name())
}

// TestFailuresRealChildren: each way a child can fail marks its run failed
// with the reason and the log tail, and the other runs complete.
func TestFailuresRealChildren(t *testing.T) {
	cases := []struct {
		name     string
		kw       map[string]any
		grace    time.Duration
		errType  string
		errHas   string
		tailHas  string
		maxTotal time.Duration
		timeout  time.Duration
	}{
		{name: "timeout", kw: map[string]any{"test_sleep_s": 30.0}, errType: ErrTypeTimeout, errHas: "timeout of 2s", tailHas: "exceeded its timeout", maxTotal: 20 * time.Second, timeout: 2 * time.Second},
		{name: "timeout ignoring SIGTERM", kw: map[string]any{"test_sleep_s": 30.0, "test_ignore_term": true}, grace: 300 * time.Millisecond, errType: ErrTypeTimeout, errHas: "SIGKILL", tailHas: "SIGKILL", maxTotal: 20 * time.Second, timeout: 2 * time.Second},
		{name: "crash", kw: map[string]any{"test_crash": true}, errType: ErrTypeCrashed, errHas: "signal", tailHas: "goroutine"},
		{name: "oom kill", kw: map[string]any{"test_oom": true}, errType: ErrTypeKilled, errHas: "out-of-memory", tailHas: "simulated OOM kill"},
		{name: "error", kw: map[string]any{"test_fail": true}, errType: "experiment_error", errHas: "engine refused", tailHas: "engine refused"},
		{name: "success without result", kw: map[string]any{"test_exit0": true}, errType: ErrTypeMissingResult, errHas: "sent no result", tailHas: "leaving without a result"},
		{name: "result for another config", kw: map[string]any{"test_wrong_hash": true}, errType: ErrTypeInvalidResult, errHas: "0000000000000000", tailHas: "starting"},
		{name: "exit without result", kw: map[string]any{"test_exit": true}, errType: ErrTypeExitStatus, errHas: "status 7", tailHas: "starting"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc := sweep("fail", config.OrderInterleaved, 1, []int{1, 2, 3}, []string{"fp32"}, nil)
			sc.Experiments[1].PassthroughKwargs = tc.kw
			opts := childOptions(t)
			opts.TimeoutOverride = 60 * time.Second
			if tc.timeout > 0 {
				opts.TimeoutOverride = tc.timeout
			}
			opts.KillGrace = tc.grace
			begin := time.Now()
			res, err := Run(context.Background(), sc, opts)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if tc.maxTotal > 0 && time.Since(begin) > tc.maxTotal {
				t.Errorf("study took %s", time.Since(begin))
			}
			if res.Summary.Completed != 2 || res.Summary.Failed != 1 || len(res.Failed) != 1 {
				t.Fatalf("summary %+v, failed %+v", res.Summary, res.Failed)
			}
			f := res.Failed[0]
			if f.RunIndex != 1 || f.ErrorType != tc.errType || !strings.Contains(f.Message, tc.errHas) {
				t.Errorf("failure %+v; want type %s with %q", f, tc.errType, tc.errHas)
			}
			m, err := results.ReadManifest(filepath.Join(studyDir(t, opts.ResultsDir), results.ManifestFile))
			if err != nil {
				t.Fatal(err)
			}
			mr := m.Runs[1]
			if mr.State != results.StateFailed || !strings.Contains(mr.LogTail, tc.tailHas) {
				t.Errorf("manifest run: state %s, log tail %q; want %q in it", mr.State, mr.LogTail, tc.tailHas)
			}
		})
	}
}

// TestInterrupt: cancelling the context stops the running child, marks it
// interrupted, leaves the rest pending and returns ErrInterrupted.
func TestInterrupt(t *testing.T) {
	sc := sweep("interrupt", config.OrderInterleaved, 1, []int{1, 2, 3}, []string{"fp32"}, nil)
	sc.Experiments[1].PassthroughKwargs = map[string]any{"test_sleep_s": 30.0}
	opts := childOptions(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts.Observer = ObserverFunc(func(e Event) {
		if e.Kind == event.RunPhase && e.RunIndex == 1 && e.Progress.Phase == "measuring" {
			cancel()
		}
	})
	begin := time.Now()
	res, err := Run(ctx, sc, opts)
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err = %v, want ErrInterrupted", err)
	}
	if time.Since(begin) > 10*time.Second {
		t.Errorf("interrupt took %s", time.Since(begin))
	}
	if res == nil || !res.Interrupted || res.Summary.Completed != 1 || res.Summary.Pending != 2 {
		t.Fatalf("result %+v", res)
	}
	m, err := results.ReadManifest(filepath.Join(studyDir(t, opts.ResultsDir), results.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	got := []results.RunState{m.Runs[0].State, m.Runs[1].State, m.Runs[2].State}
	want := []results.RunState{results.StateCompleted, results.StateInterrupted, results.StatePending}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("states %v, want %v", got, want)
			break
		}
	}
}

// TestChildMainByHand: the child subcommand started without the runner's
// pipes says so and exits with ChildExitProtocol.
func TestChildMainByHand(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), envChild+"=1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != ChildExitProtocol || !strings.Contains(string(out), "started by the study runner") {
		t.Fatalf("err %v, output %q", err, out)
	}
}

// TestWallClockStopsRunningChild: the study's wall-clock limit stops a run
// in progress; the run is marked interrupted and the study stops early.
func TestWallClockStopsRunningChild(t *testing.T) {
	sc := sweep("wall", config.OrderInterleaved, 1, []int{1, 2}, []string{"fp32"}, map[string]any{"test_sleep_s": 30.0})
	sc.Execution.WallClockTimeoutHours = 1.5 / 3600
	opts := childOptions(t)
	begin := time.Now()
	res, err := Run(context.Background(), sc, opts)
	if !errors.Is(err, ErrStopped) || !strings.Contains(err.Error(), "wall-clock") {
		t.Fatalf("err %v, want ErrStopped for the wall clock", err)
	}
	if time.Since(begin) > 15*time.Second || res.Summary.Completed != 0 || res.Summary.Pending != 2 {
		t.Fatalf("took %s, summary %+v", time.Since(begin), res.Summary)
	}
	m, err := results.ReadManifest(filepath.Join(studyDir(t, opts.ResultsDir), results.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if r := m.Runs[0]; r.State != results.StateInterrupted || !strings.Contains(r.Error, "wall_clock_timeout_hours") {
		t.Errorf("run 0: %s %q", r.State, r.Error)
	}
}
