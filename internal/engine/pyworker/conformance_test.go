package pyworker

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/engine"
	"github.com/llenergymeasure/llem/internal/engine/enginetest"
)

// TestConformance runs the engine suite on testdata/fake_worker.py: a real
// Python child process speaking llem's protocol, with fake compute.
func TestConformance(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not installed: the worker is a real Python process (apt-get install python3)")
	}
	script, err := filepath.Abs("testdata/fake_worker.py")
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	enginetest.Run(t, enginetest.Harness{
		New: func() engine.Engine {
			return New(config.BackendPyTorch, Runner{CacheDir: cache, WorkerScript: script})
		},
		Config: fakeConfig(nil),
	})
}
