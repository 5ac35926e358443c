package pyworker

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/engine"
)

// pythonImage holds a python3; scripts/podman-service.sh builds it.
const pythonImage = "localhost/llem-python:1"

// TestContainerRunner runs the protocol test worker in a container through
// the Engine API: scripts mounted, stdin/stdout attached, stderr
// demultiplexed into the log.
func TestContainerRunner(t *testing.T) {
	h := os.Getenv("LLEM_TEST_DOCKER_HOST")
	if h == "" {
		t.Skip("LLEM_TEST_DOCKER_HOST not set: start an Engine API server with scripts/podman-service.sh " +
			"and set LLEM_TEST_DOCKER_HOST=unix://<the socket it prints> to run the worker in a container")
	}
	t.Setenv("DOCKER_HOST", h)
	script, err := filepath.Abs("testdata/fake_worker.py")
	if err != nil {
		t.Fatal(err)
	}
	model := t.TempDir() // a local model folder, mounted read-only
	for _, tt := range []struct {
		name   string
		kwargs map[string]any
	}{{"happy path", nil}, {"crash", map[string]any{"fake_crash_on_generate": true}}} {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			e := New(config.BackendPyTorch, Runner{Image: pythonImage, GPUs: "none", WorkerScript: script,
				CacheDir: t.TempDir(), HFCache: t.TempDir(), Log: &log}).(*Engine)
			defer e.Close()
			cfg := fakeConfig(tt.kwargs)
			cfg.Model = model
			info, err := e.Load(context.Background(), cfg)
			if err != nil {
				t.Fatalf("%v\nlog:\n%s", err, log.String())
			}
			if info.Effective["container_image"] != pythonImage || e.Hello().Executable != "/usr/bin/python3" {
				t.Errorf("load info %+v, hello %+v", info, e.Hello())
			}
			out, err := e.Generate(context.Background(), batch, engine.GenParams{MaxNewTokens: 4})
			if tt.kwargs == nil {
				if err != nil || len(out) != 3 || out[0].OutputTokens != 4 || len(out[2].TokenTimes) != 4 {
					t.Fatalf("Generate = %+v, %v", out, err)
				}
				if err := e.Close(); err != nil {
					t.Fatal(err)
				}
				// The daemon copies stdout and stderr separately, so the log
				// is complete only once the container is gone.
				if !strings.Contains(log.String(), "fake worker loading "+ctrModel) {
					t.Errorf("worker did not see the model at its mount point; log:\n%s", log.String())
				}
				return
			}
			var ee *ExitError
			if !errors.As(err, &ee) || ee.Exit != "exit status 3" || !strings.Contains(ee.StderrTail, "illegal memory access") {
				t.Errorf("crash in a container: %v", err)
			}
		})
	}
}

// TestCheckContainer runs the environment probe inside the image.
func TestCheckContainer(t *testing.T) {
	h := os.Getenv("LLEM_TEST_DOCKER_HOST")
	if h == "" {
		t.Skip("LLEM_TEST_DOCKER_HOST not set: see scripts/podman-service.sh")
	}
	t.Setenv("DOCKER_HOST", h)
	ctx := context.Background()
	a := Check(ctx, config.BackendPyTorch, Runner{Image: pythonImage, GPUs: "none", CacheDir: t.TempDir(), HFCache: t.TempDir()})
	err := a.Err()
	if err == nil || !strings.Contains(err.Error(), "cannot import accelerate") || !strings.Contains(err.Error(), "fix: pip install torch transformers accelerate") {
		t.Errorf("python image without torch: %v", err)
	}
	if a.Versions["python"] != "3.11.2" {
		t.Errorf("versions from the container = %v", a.Versions)
	}
	a = Check(ctx, config.BackendVLLM, Runner{Image: "localhost/no-such-image:1"})
	if err := a.Err(); err == nil || !strings.Contains(err.Error(), "image localhost/no-such-image:1 is not present; fix: docker pull localhost/no-such-image:1") {
		t.Errorf("absent image: %v", err)
	}
}
