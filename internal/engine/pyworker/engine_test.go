package pyworker

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/engine"
)

// fakeEngine returns an engine running testdata/fake_worker.py on python3,
// with the real protocol module written by WriteScripts.
func fakeEngine(t *testing.T) (*Engine, *bytes.Buffer) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not installed: the protocol tests need a real Python (apt-get install python3)")
	}
	var log bytes.Buffer
	script, err := filepath.Abs("testdata/fake_worker.py")
	if err != nil {
		t.Fatal(err)
	}
	e := New(config.BackendPyTorch, Runner{CacheDir: t.TempDir(), WorkerScript: script, Log: &log}).(*Engine)
	t.Cleanup(func() { e.Close() })
	return e, &log
}

func fakeConfig(kwargs map[string]any) config.ExperimentConfig {
	bs := 4
	return config.ExperimentConfig{
		Model: "org/model", Backend: config.BackendPyTorch, Precision: "bf16",
		PyTorch:           &config.PyTorchConfig{BatchSize: &bs},
		PassthroughKwargs: kwargs,
	}
}

var batch = []engine.Prompt{
	{ID: "a", Text: "one two three"},
	{ID: "b", Text: "four five", MaxNewTokens: 3},
	{ID: "c", Text: "ignored text", Tokens: []int{1, 2, 3, 4, 5}},
}

func TestHappyPath(t *testing.T) {
	e, log := fakeEngine(t)
	ctx := context.Background()
	info, err := e.Load(ctx, fakeConfig(map[string]any{"fake_print": true}))
	if err != nil {
		t.Fatal(err)
	}
	if info.Parameters != 1234 || info.Weights != "hf" || !info.ExactOutputLength {
		t.Errorf("load info = %+v", info)
	}
	if info.Versions["python"] == "" || e.Hello().Protocol != ProtocolVersion || e.Hello().Backend != "fake" {
		t.Errorf("hello = %+v, versions %v", e.Hello(), info.Versions)
	}
	if got := info.Effective["options"].(map[string]any)["batch_size"]; got != 4.0 {
		t.Errorf("options sent to the worker: batch_size = %v, want 4 (only user-set fields)", got)
	}
	if _, ok := info.Effective["options"].(map[string]any)["torch_compile"]; ok {
		t.Error("unset option torch_compile was sent to the worker")
	}
	before := time.Now()
	out, err := e.Generate(ctx, batch, engine.GenParams{MaxNewTokens: 5})
	if err != nil {
		t.Fatal(err)
	}
	wantOut := []int{5, 3, 5}
	wantIn := []int{3, 2, 5}
	for i, c := range out {
		if c.PromptID != batch[i].ID || c.OutputTokens != wantOut[i] || c.PromptTokens != wantIn[i] {
			t.Errorf("completion %d = %+v", i, c)
		}
		if len(c.TokenTimes) != c.OutputTokens {
			t.Fatalf("completion %d: %d token times for %d tokens", i, len(c.TokenTimes), c.OutputTokens)
		}
		for j, d := range c.TokenTimes {
			if d < time.Millisecond/2 || (j > 0 && d <= c.TokenTimes[j-1]) {
				t.Errorf("completion %d: token times not increasing from start: %v", i, c.TokenTimes)
				break
			}
		}
		if c.End < c.TokenTimes[len(c.TokenTimes)-1] || c.Start.Before(before) || c.Start.After(time.Now()) {
			t.Errorf("completion %d: start %v end %v tokens %v", i, c.Start, c.End, c.TokenTimes)
		}
	}
	if out[1].Start.Before(out[0].Start.Add(out[0].End)) {
		t.Errorf("second request started before the first ended: %v vs %v", out[1].Start, out[0].Start.Add(out[0].End))
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"fake worker loading org/model", "noise that must not reach the protocol stream", "raw fd 1 noise"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("worker log lacks %q:\n%s", want, log.String())
		}
	}
}

// A random-init run of a shape llem ships sends the worker the shipped
// config's folder but records the model as the user named it.
func TestRandomInitShippedShape(t *testing.T) {
	e, _ := fakeEngine(t)
	cfg := fakeConfig(nil)
	cfg.Model = "llama-3.2-1b"
	yes := true
	cfg.PyTorch.RandomInit = &yes
	info, err := e.Load(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if info.ModelName != "llama-3.2-1b" || info.Weights != "random_init" {
		t.Errorf("model %q weights %q, want llama-3.2-1b random_init", info.ModelName, info.Weights)
	}
	if sent, _ := info.Effective["model_sent"].(string); !strings.HasSuffix(sent, filepath.Join("models", "llama-3.2-1b")) || info.Effective["model_config_exists"] != true {
		t.Errorf("worker was sent %q (config.json there: %v), want the shipped shape's folder", sent, info.Effective["model_config_exists"])
	}
}

func TestWorkerFailures(t *testing.T) {
	tests := []struct {
		name   string
		kwargs map[string]any
		ctx    time.Duration
		check  func(t *testing.T, err error)
	}{
		{"crash mid-generate", map[string]any{"fake_crash_on_generate": true}, 0, func(t *testing.T, err error) {
			var ee *ExitError
			if !errors.As(err, &ee) || ee.Exit != "exit status 3" || !strings.Contains(ee.StderrTail, "illegal memory access") {
				t.Errorf("err = %v, want an ExitError with exit status 3 and the stderr tail", err)
			}
		}},
		{"malformed line", map[string]any{"fake_malformed": true}, 0, func(t *testing.T, err error) {
			var pe *ProtocolError
			if !errors.As(err, &pe) || pe.Line != 3 || pe.Text != "this is not json {\n" {
				t.Errorf("err = %v, want a ProtocolError naming line 3", err)
			}
		}},
		{"timeout", map[string]any{"fake_sleep_seconds": 30}, 300 * time.Millisecond, func(t *testing.T, err error) {
			if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "worker killed") {
				t.Errorf("err = %v, want a deadline error saying the worker was killed", err)
			}
		}},
		{"traceback", map[string]any{"fake_raise": "CUDA out of memory"}, 0, func(t *testing.T, err error) {
			var we *WorkerError
			if !errors.As(err, &we) || we.Type != "ValueError" || we.Op != "generate" {
				t.Fatalf("err = %v, want a WorkerError", err)
			}
			for _, want := range []string{"Python traceback", "nested_failure", "fake_worker.py", "ValueError: CUDA out of memory"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%v", want, err)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _ := fakeEngine(t)
			if _, err := e.Load(context.Background(), fakeConfig(tt.kwargs)); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if tt.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctx)
				defer cancel()
			}
			start := time.Now()
			_, err := e.Generate(ctx, batch, engine.GenParams{MaxNewTokens: 2})
			if err == nil {
				t.Fatal("Generate succeeded")
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("failure took %v to surface", d)
			}
			tt.check(t, err)
			var we *WorkerError
			if errors.As(err, &we) {
				// The worker survives its own exceptions.
				if _, err := e.Generate(context.Background(), nil, engine.GenParams{}); err == nil {
					return
				}
			} else if _, err2 := e.Generate(context.Background(), batch, engine.GenParams{}); err2 == nil || !strings.Contains(err2.Error(), "no longer usable") {
				t.Errorf("Generate after a broken worker: %v", err2)
			}
			if err := e.Close(); err != nil && !strings.Contains(err.Error(), "worker") {
				t.Errorf("Close: %v", err)
			}
		})
	}
}

func TestProtocolVersionMismatch(t *testing.T) {
	e, _ := fakeEngine(t)
	dir, err := WriteScripts(e.runner.CacheDir)
	if err != nil {
		t.Fatal(err)
	}
	stderr := newTail(1024, nil)
	p, err := e.runner.start(context.Background(), launch{scriptDir: dir, script: e.runner.WorkerScript}, stderr)
	if err != nil {
		t.Fatal(err)
	}
	c := newConn(p)
	defer c.close(5 * time.Second)
	err = c.call(context.Background(), "hello", helloRequest{Protocol: ProtocolVersion + 1}, &Hello{})
	if err == nil || !strings.Contains(err.Error(), "different versions") {
		t.Errorf("hello with a wrong version: %v", err)
	}
}

func TestWriteScriptsReuses(t *testing.T) {
	root := t.TempDir()
	a, err := WriteScripts(root)
	if err != nil {
		t.Fatal(err)
	}
	b, err := WriteScripts(root)
	if err != nil || a != b {
		t.Fatalf("second write: %s, %v (first %s)", b, err, a)
	}
	for _, f := range []string{"workers/llem_protocol.py", "workers/pytorch_worker.py", "workers/vllm_worker.py", "workers/tensorrt_worker.py", "models/llama-3.2-1b/config.json"} {
		if _, err := exec.Command("test", "-f", filepath.Join(a, f)).Output(); err != nil {
			t.Errorf("%s missing from %s", f, a)
		}
	}
}

// scriptsForPython writes the embedded scripts to a temporary folder for a
// test that runs them with python3, skipping the test without python3.
func scriptsForPython(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not installed")
	}
	dir, err := WriteScripts(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestWorkerScriptsCompile byte-compiles every embedded worker: the real
// engines cannot run here (no torch, vllm or tensorrt_llm), but their
// scripts must at least be valid Python.
func TestWorkerScriptsCompile(t *testing.T) {
	dir := scriptsForPython(t)
	for _, s := range []string{"llem_protocol.py", "pytorch_worker.py", "vllm_worker.py", "tensorrt_worker.py"} {
		code := "import sys, py_compile; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)"
		out, err := exec.Command("python3", "-c", code, filepath.Join(dir, "workers", s), filepath.Join(t.TempDir(), s+"c")).CombinedOutput()
		if err != nil {
			t.Errorf("%s does not compile: %v\n%s", s, err, out)
		}
	}
}

// TestWorkerHelpers runs testdata/test_worker_helpers.py: unit tests of the
// pytorch worker's helpers that need no torch.
func TestWorkerHelpers(t *testing.T) {
	dir := scriptsForPython(t)
	tests, err := filepath.Abs("testdata/test_worker_helpers.py")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("python3", tests, "-v")
	cmd.Env = append(cmd.Environ(), "PYTHONPATH="+filepath.Join(dir, "workers"), "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "\nOK") {
		t.Errorf("worker helper tests failed: %v\n%s", err, out)
	}
}

// TestRealWorkersWithoutEngines starts each embedded worker on a Python
// without its engine: the worker must speak the protocol (hello answers)
// and fail its load with the import error and traceback.
func TestRealWorkersWithoutEngines(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not installed")
	}
	want := map[config.Backend]string{
		config.BackendPyTorch:  "No module named 'torch'",
		config.BackendVLLM:     "No module named 'vllm'",
		config.BackendTensorRT: "No module named 'tensorrt_llm'",
	}
	for b, msg := range want {
		t.Run(string(b), func(t *testing.T) {
			mod := strings.Fields(msg)[3]
			if exec.Command("python3", "-c", "import "+strings.Trim(mod, "'")).Run() == nil {
				t.Skipf("%s is installed here", mod)
			}
			e := New(b, Runner{CacheDir: t.TempDir()})
			defer e.Close()
			_, err := e.Load(context.Background(), config.ExperimentConfig{Model: "org/m", Backend: b, Precision: "fp16"})
			var we *WorkerError
			if !errors.As(err, &we) || we.Op != "load" || !strings.Contains(err.Error(), msg) || !strings.Contains(err.Error(), "Python traceback") {
				t.Errorf("load without the engine: %v", err)
			}
			if e.(*Engine).Hello().Backend != string(b) {
				t.Errorf("hello = %+v", e.(*Engine).Hello())
			}
		})
	}
}
