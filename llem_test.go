package llem_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/llenergymeasure/llem"
	"github.com/llenergymeasure/llem/config"
)

func tinyConfig() config.ExperimentConfig {
	cfg := config.DefaultExperiment()
	cfg.Model, cfg.Backend, cfg.N = "tiny", config.BackendNative, 4
	cfg.Dataset.InputLen, cfg.Dataset.OutputLen = 8, 4
	cfg.Baseline.Enabled, cfg.Warmup.Enabled = false, false
	config.ApplyDefaults(&cfg)
	return cfg
}

func TestRunExperimentWritesNothing(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	user := config.DefaultUserConfig()
	res, err := llem.RunExperiment(context.Background(), tinyConfig(), llem.Options{User: &user})
	if err != nil {
		t.Fatal(err)
	}
	if res.Throughput.OutputTokens != 16 || res.MeasurementConfigHash != config.MeasurementConfigHash(tinyConfig()) {
		t.Errorf("result: %d output tokens, hash %s", res.Throughput.OutputTokens, res.MeasurementConfigHash)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("RunExperiment wrote %d entries into the working directory", len(entries))
	}
}

// TestRunStudyDisableWrites runs a two-run study through the llem binary
// (built here) with writes turned off: a full StudyResult, nothing on disk.
func TestRunStudyDisableWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the llem binary")
	}
	bin := filepath.Join(t.TempDir(), "llem")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/llem").CombinedOutput(); err != nil {
		t.Fatalf("build llem: %v\n%s", err, out)
	}
	a, b := tinyConfig(), tinyConfig()
	bs := 2
	b.Native = &config.NativeConfig{BatchSize: &bs}
	sc := &config.StudyConfig{Name: "lib", Experiments: []config.ExperimentConfig{a, b}, Execution: config.DefaultExecution()}
	results := filepath.Join(t.TempDir(), "results")
	user := config.DefaultUserConfig()
	res, err := llem.Run(context.Background(), sc, llem.Options{User: &user, ResultsDir: results, DisableWrites: true, NoGaps: true, LlemBinary: bin})
	if err != nil {
		t.Fatal(err)
	}
	if res.Summary.Completed != 2 || len(res.Configurations) != 2 {
		t.Errorf("summary %+v, %d configurations", res.Summary, len(res.Configurations))
	}
	if _, err := os.Stat(results); !os.IsNotExist(err) {
		t.Errorf("DisableWrites: %s exists (%v)", results, err)
	}
}
