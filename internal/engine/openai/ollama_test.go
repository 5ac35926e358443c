//go:build unix

package openai

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/engine"
)

// TestOllama runs the engine against a real Ollama server (the binary named
// by LLEM_TEST_OLLAMA, e.g. from `go install github.com/ollama/ollama@v0.17.4`,
// see docs/gpu-engines.md) serving a synthetic GGUF written by llem. Ollama
// lists models as owned by "library", so the engine must recognise it by
// its /api/version, and warn that it does not promise exact output lengths.
func TestOllama(t *testing.T) {
	bin := os.Getenv("LLEM_TEST_OLLAMA")
	if bin == "" {
		t.Skip("LLEM_TEST_OLLAMA is not set: no Ollama binary to test against")
	}
	dir := t.TempDir()
	model := synthGGUF(t, dir)
	host := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	env := append(os.Environ(), "OLLAMA_HOST="+host, "OLLAMA_MODELS="+filepath.Join(dir, "models"), "HOME="+dir)
	var log bytes.Buffer
	serve := exec.Command(bin, "serve")
	serve.Env, serve.Stdout, serve.Stderr = env, &log, &log
	// Its own process group: serve starts a runner process per model,
	// which must go when the server does.
	serve.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { serve.Wait(); close(exited) }()
	t.Cleanup(func() {
		syscall.Kill(-serve.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if resp, err := http.Get("http://" + host + "/api/version"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ollama serve did not answer in 30 s:\n%s", log.String())
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "Modelfile"), []byte("FROM "+model+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	create := exec.Command(bin, "create", "s15", "-f", filepath.Join(dir, "Modelfile"))
	create.Env = env
	if out, err := create.CombinedOutput(); err != nil {
		t.Fatalf("ollama create: %v\n%s", err, out)
	}

	e := New().(*Engine)
	defer e.Close()
	o := config.OpenAIConfig{BaseURL: "http://" + host + "/v1"}
	info, err := e.Load(context.Background(), config.ExperimentConfig{Model: "s15", Backend: config.BackendOpenAI, OpenAI: &o})
	if err != nil {
		t.Fatalf("%v\nollama log:\n%s", err, log.String())
	}
	if info.Versions["server"] != "ollama" || info.Versions["server_version"] == "" || info.ExactOutputLength || len(info.Warnings) != 1 {
		t.Errorf("load info: versions %v exact %v warnings %v", info.Versions, info.ExactOutputLength, info.Warnings)
	}
	const n = 8
	batch := []engine.Prompt{{ID: "a", Text: "Once upon a time"}, {ID: "b", Text: "The committee met"}}
	out, err := e.Generate(context.Background(), batch, engine.GenParams{MaxNewTokens: n, IgnoreEOS: true, Strategy: "greedy"})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range out {
		if c.OutputTokens < 1 || c.OutputTokens > n || c.PromptTokens < 2 || len(c.TokenTimes) == 0 || c.End <= 0 {
			t.Errorf("completion %d: %+v", i, c)
		}
	}
	t.Logf("ollama %s: %d and %d output tokens", info.Versions["server_version"], out[0].OutputTokens, out[1].OutputTokens)
}
