//go:build unix

package openai

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/engine"
	"github.com/llenergymeasure/llem/internal/engine/enginetest"
	"github.com/llenergymeasure/llem/internal/engine/native"
)

// TestLlamaServer drives a real llama.cpp server that the engine starts
// itself through server_command, serving a synthetic GGUF written by llem:
// streaming, usage counts, exact output lengths, two requests in flight,
// and the server stopped (by its PID) on Close. It needs LLEM_TEST_LLAMACPP,
// the folder of a llama.cpp build (.ci/run builds one).
// synthGGUF writes llem's synthetic stories15M as a GGUF file in dir.
func synthGGUF(t *testing.T, dir string) string {
	t.Helper()
	model := filepath.Join(dir, "stories15M.gguf")
	if err := native.SynthesizeGGUFFile(model, "stories15M", 1, "f32"); err != nil {
		t.Fatal(err)
	}
	return model
}

// freePort is a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestLlamaServer(t *testing.T) {
	bin := os.Getenv("LLEM_TEST_LLAMACPP")
	if bin == "" {
		t.Skip("LLEM_TEST_LLAMACPP is not set: no llama.cpp build (bench/native/build-llamacpp.sh)")
	}
	model := synthGGUF(t, t.TempDir())
	port := freePort(t)
	conc := 2
	o := config.OpenAIConfig{
		BaseURL:     fmt.Sprintf("http://127.0.0.1:%d/v1", port),
		Concurrency: &conc,
		ServerCommand: []string{filepath.Join(bin, "llama-server"), "-m", model, "--alias", "stories15M", "--host", "127.0.0.1", "--port", fmt.Sprint(port),
			"-np", "2", "-c", "1024", "-t", "2"},
	}
	e := New().(*Engine)
	defer e.Close()
	info, err := e.Load(context.Background(), config.ExperimentConfig{Model: "stories15M", Backend: config.BackendOpenAI, OpenAI: &o, RandomSeed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if info.Versions["server"] != "llamacpp" || !info.ExactOutputLength || len(info.Warnings) != 0 {
		t.Errorf("load info: server %q exact %v warnings %v", info.Versions["server"], info.ExactOutputLength, info.Warnings)
	}
	pids := e.PIDs()
	if len(pids) != 1 {
		t.Fatalf("PIDs = %v, want the started server", pids)
	}

	const n = 12
	batch := make([]engine.Prompt, 4)
	for i := range batch {
		batch[i] = engine.Prompt{ID: fmt.Sprint("p", i), Text: fmt.Sprintf("Prompt number %d asks about energy", i)}
	}
	start := time.Now()
	out, err := e.Generate(context.Background(), batch, engine.GenParams{MaxNewTokens: n, IgnoreEOS: true, Strategy: "greedy"})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range out {
		if c.PromptID != batch[i].ID || c.OutputTokens != n || c.PromptTokens < 5 || c.FinishReason != "length" || c.Text == "" {
			t.Errorf("completion %d: %+v", i, c)
		}
		if len(c.TokenTimes) == 0 || c.TokenTimes[0] <= 0 || c.End < c.TokenTimes[len(c.TokenTimes)-1] || c.Start.Before(start) {
			t.Errorf("completion %d times: start %v, tokens %v, end %v", i, c.Start, c.TokenTimes, c.End)
		}
	}
	// With concurrency 2, the third request starts only once one of the
	// first two has ended.
	firstEnd := out[0].Start.Add(out[0].End)
	if e1 := out[1].Start.Add(out[1].End); e1.Before(firstEnd) {
		firstEnd = e1
	}
	if out[2].Start.Before(firstEnd.Add(-time.Millisecond)) {
		t.Errorf("third request started at %v, before either of the first two ended (%v)", out[2].Start, firstEnd)
	}

	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pids[0], 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("server PID %d still exists after Close (kill 0: %v)", pids[0], err)
	}
}

// TestLlamaServerConformance runs the engine suite against a real
// llama.cpp server, started by each Load through server_command. It needs
// LLEM_TEST_LLAMACPP, the folder of a llama.cpp build.
func TestLlamaServerConformance(t *testing.T) {
	bin := os.Getenv("LLEM_TEST_LLAMACPP")
	if bin == "" {
		t.Skip("LLEM_TEST_LLAMACPP is not set: no llama.cpp build (bench/native/build-llamacpp.sh)")
	}
	model := synthGGUF(t, t.TempDir())
	port := freePort(t)
	enginetest.Run(t, enginetest.Harness{
		New: New,
		Config: config.ExperimentConfig{Model: "stories15M", Backend: config.BackendOpenAI, RandomSeed: 1,
			OpenAI: &config.OpenAIConfig{
				BaseURL: fmt.Sprintf("http://127.0.0.1:%d/v1", port),
				ServerCommand: []string{filepath.Join(bin, "llama-server"), "-m", model, "--alias", "stories15M", "--host", "127.0.0.1", "--port", fmt.Sprint(port),
					"-np", "1", "-c", "1024", "-t", "2"},
			}},
		LongOutput: 256,
	})
}
