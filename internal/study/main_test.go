package study

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/gpucontrol"
	"github.com/llenergymeasure/llem/results"
)

// The test binary doubles as the child (and, for the SIGKILL test, as a
// runner process): TestMain dispatches on these variables.
const (
	envChild  = "LLEM_STUDY_TEST_CHILD"
	envRunner = "LLEM_STUDY_TEST_RUNNER" // path of a runnerSpec JSON file
)

func TestMain(m *testing.M) {
	if os.Getenv(envChild) == "1" {
		os.Exit(ChildMain(context.Background(), testChildRun))
	}
	if p := os.Getenv(envRunner); p != "" {
		os.Exit(runnerMain(p))
	}
	os.Exit(m.Run())
}

// testChildRun is the child's run function: a small valid result derived
// from the config, with behaviours switched by passthrough kwargs.
func testChildRun(ctx context.Context, req ChildRequest) (*results.ExperimentResult, error) {
	kw := req.Config.PassthroughKwargs
	started := time.Now()
	fmt.Printf("child: run %d cycle %d starting\n", req.RunIndex, req.Cycle)
	if dir, ok := kw["test_marker_dir"].(string); ok {
		mark(dir, "start", req)
		defer mark(dir, "end", req)
	}
	req.Report(Progress{Phase: "load"})
	req.Report(Progress{Phase: "measuring", PromptsDone: 1, PromptsTotal: 2, TokensPerS: 10})
	if dir, ok := kw["test_grandchild_dir"].(string); ok {
		// A grandchild in the child's process group, as an engine's server.
		gc := exec.Command("sleep", "60")
		if err := gc.Start(); err != nil {
			return nil, err
		}
		_ = os.WriteFile(filepath.Join(dir, "grandchild.pid"), []byte(strconv.Itoa(gc.Process.Pid)), 0o644)
	}
	if childGPU != nil {
		if err := childGPU(req); err != nil {
			return nil, err
		}
	}
	if b, _ := kw["test_ignore_term"].(bool); b {
		signal.Ignore(syscall.SIGTERM)
	}
	if s, ok := kw["test_sleep_s"].(float64); ok {
		t := time.NewTimer(time.Duration(s * float64(time.Second)))
		select {
		case <-t.C:
		case <-ctx.Done():
			if b, _ := kw["test_ignore_term"].(bool); !b {
				return nil, fmt.Errorf("measurement cancelled: %w", ctx.Err())
			}
			<-t.C
		}
	}
	switch {
	case kw["test_crash"] == true:
		fmt.Println("child: simulated crash follows")
		debug.SetTraceback("crash")
		go func() { panic("simulated crash in the engine") }()
		select {}
	case kw["test_oom"] == true:
		fmt.Println("child: simulated OOM kill")
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	case kw["test_fail"] == true:
		return nil, errors.New("engine refused the configuration")
	case kw["test_exit"] == true:
		os.Exit(7)
	case kw["test_exit0"] == true:
		fmt.Println("child: leaving without a result")
		os.Exit(0)
	}
	batch := 1
	if req.Config.Native != nil && req.Config.Native.BatchSize != nil {
		batch = *req.Config.Native.BatchSize
	}
	hash := req.MeasurementConfigHash
	if kw["test_wrong_hash"] == true {
		hash = "0000000000000000"
	}
	res := &results.ExperimentResult{
		SchemaVersion:          results.SchemaVersion,
		MeasurementConfigHash:  hash,
		Config:                 req.Config,
		StartedAt:              started,
		CompletedAt:            time.Now(),
		MeasurementMethodology: "total",
		Energy: results.EnergyMetrics{
			Source: "test", TotalJ: 10 * float64(batch), PerOutputTokenJ: 0.1*float64(batch) + 0.01*float64(req.Cycle),
			AvgPowerW: 5, DurationS: 2,
		},
		Throughput: results.ThroughputStats{Requests: 2, OutputTokens: 20, OutputTokensPerS: 10 * float64(batch)},
	}
	if req.Machine != nil {
		res.Environment = *req.Machine // what a real run completes
	}
	return res, nil
}

// mark appends one line per child start/end, to count executions.
func mark(dir, what string, req ChildRequest) {
	f, err := os.OpenFile(filepath.Join(dir, "executions.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s %s %d\n", what, req.MeasurementConfigHash, req.Cycle)
}

// childGPU, when set (gpu_cgo_test.go), lets a test child change a mock
// GPU's settings as a run with gpu: settings does; mockGPU opens a mock
// GPU's control for a runner process.
var (
	childGPU func(req ChildRequest) error
	mockGPU  func(path string) gpucontrol.Opener
)

// runnerSpec is what the runner process of the SIGKILL test runs.
type runnerSpec struct {
	Study      config.StudyConfig `json:"study"`
	ResultsDir string             `json:"results_dir"`
	Exe        string             `json:"exe"`
	// GPUCard is the file of a mock GPU the runner controls.
	GPUCard string `json:"gpu_card,omitempty"`
}

func runnerMain(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var s runnerSpec
	if err := json.Unmarshal(b, &s); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	o := Options{
		ResultsDir: s.ResultsDir, NoGaps: true, Executable: s.Exe,
		Env: append(os.Environ(), envChild+"=1", envRunner+"="),
	}
	if s.GPUCard != "" && mockGPU != nil {
		o.GPU = mockGPU(s.GPUCard)
	}
	_, err = Run(context.Background(), &s.Study, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// childOptions are Options that re-execute this test binary as the child.
func childOptions(t testing.TB) Options {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Options{
		ResultsDir: t.TempDir(), NoGaps: true, Executable: exe,
		Env: append(os.Environ(), envChild+"=1"),
	}
}

// sweep builds a study of native batch sizes × precisions.
func sweep(name string, order config.CycleOrder, cycles int, batches []int, precisions []string, kw map[string]any) *config.StudyConfig {
	sc := &config.StudyConfig{Name: name, Execution: config.Execution{NCycles: cycles, CycleOrder: order}}
	for _, b := range batches {
		for _, p := range precisions {
			sc.Experiments = append(sc.Experiments, config.ExperimentConfig{
				Model: "tiny", Backend: config.BackendNative, Precision: p, N: 2, MaxOutputTokens: 8,
				Dataset:           config.DatasetConfig{Name: "synthetic"},
				Native:            &config.NativeConfig{BatchSize: &b},
				PassthroughKwargs: copyMap(kw),
			})
		}
	}
	return sc
}

func copyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// recorder is an Observer that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) Observe(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) count(k EventKind) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.Kind == k {
			n++
		}
	}
	return n
}

// fakeClock advances only when slept on.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
	return nil
}

func (c *fakeClock) advance(d time.Duration) { _ = c.Sleep(context.Background(), d) }

// funcLauncher runs jobs in-process (no child): the seam for tests of the
// runner's own logic and for the scale benchmark.
type funcLauncher struct {
	run func(ctx context.Context, req ChildRequest) (*results.ExperimentResult, error)
}

func (l funcLauncher) launch(ctx context.Context, j job) outcome {
	res, err := l.run(ctx, j.req)
	switch {
	case ctx.Err() != nil:
		return outcome{state: results.StateInterrupted, errType: ErrTypeInterrupted, err: "interrupted"}
	case err != nil:
		return outcome{state: results.StateFailed, errType: "experiment_error", err: err.Error()}
	}
	return outcome{state: results.StateCompleted, result: res}
}
