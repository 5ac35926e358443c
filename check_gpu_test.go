package llem

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/gpucontrol"
)

// TestCheckRefusesGPUSettingsWithoutAGPU: on a machine without NVML the
// pre-flight refuses gpu: settings, naming the file, line and field (the
// CLI exits 2); a dry run, which may plan for another machine, warns.
func TestCheckRefusesGPUSettingsWithoutAGPU(t *testing.T) {
	if ctl, err := gpucontrol.Open(nil); err == nil {
		_ = ctl.Close()
		t.Skip("this machine has an NVIDIA GPU")
	}
	dir := t.TempDir()
	sc, err := config.Parse([]byte("model: org/m\nbackend: pytorch\ngpu: {sm_clock_mhz: 1500}\n"), filepath.Join(dir, "study.yaml"), dir)
	if err != nil {
		t.Fatal(err)
	}
	user := config.DefaultUserConfig()
	_, err = Check(context.Background(), sc, CheckOptions{User: &user, BaseDir: dir})
	var es config.Errors
	if !errors.As(err, &es) || len(es) != 1 || es[0].Field != "gpu.sm_clock_mhz" || es[0].Line != 3 || !strings.Contains(es[0].Msg, "no NVIDIA GPU/NVML found") {
		t.Fatalf("Check: %v, want gpu.sm_clock_mhz refused at line 3 for want of NVML", err)
	}
	warnings, err := Check(context.Background(), sc, CheckOptions{User: &user, BaseDir: dir, DryRun: true})
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if !strings.Contains(strings.Join(warnings, "\n"), "gpu.sm_clock_mhz: cannot be applied: no NVIDIA GPU/NVML found") {
		t.Errorf("dry-run warnings %q", warnings)
	}
}
