package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/engine/native"
	"github.com/llenergymeasure/llem/results"
)

// TestPromptLongerThanContextRefusedAtDryRun: a prompt that cannot fit
// the model's context is exit 2 at --dry-run, naming the file, line and
// field, and a real run refuses it before anything is measured.
func TestPromptLongerThanContextRefusedAtDryRun(t *testing.T) {
	file, out := writeStudyFile(t, "model: tiny\nn: 2\ndataset: {input_len: 1000, output_len: 128}\n")
	for _, args := range [][]string{{"run", file, "--dry-run"}, {"run", file, "--output", out}} {
		code, _, errOut := runCLI(t, nil, args...)
		if code != ExitBadInput || !strings.Contains(errOut, "study.yaml:3:") || !strings.Contains(errOut, "dataset.input_len: prompt synthetic-0000 needs 1001 prompt tokens") || !strings.Contains(errOut, "context of 1024") {
			t.Errorf("%v: exit %d, want 2 naming the line, field and context:\n%s", args, code, errOut)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a refused run left %s behind", out)
	}
}

// TestOneConfigurationStudyIsAStudy: a file with sweep: is a study even
// when it resolves to one configuration and one cycle: it gets a manifest
// and llem report reads it.
func TestOneConfigurationStudyIsAStudy(t *testing.T) {
	file, out := writeStudyFile(t, "model: tiny\nn: 2\ndataset: {input_len: 8, output_len: 4}\nbaseline: {enabled: false}\nwarmup: {enabled: false}\nsweep:\n  native.batch_size: [2]\nexecution: {n_cycles: 1}\n")
	if code, stdout, errOut := runCLI(t, nil, "run", file, "--no-gaps", "--output", out, "-q"); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, errOut)
	}
	sd := onlyStudyDir(t, out)
	if _, err := os.Stat(filepath.Join(sd, results.ManifestFile)); err != nil {
		t.Fatalf("no manifest: %v", err)
	}
	if code, _, errOut := runCLI(t, nil, "report", sd); code != 0 {
		t.Errorf("report: exit %d: %s", code, errOut)
	}
}

// TestModelFileContentIsItsIdentity: replacing a GGUF under the same name
// changes the measurement_config_hash (it was the path alone).
func TestModelFileContentIsItsIdentity(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "m.gguf")
	synth := func(seed int64) {
		if err := native.SynthesizeGGUFFile(model, "tiny", seed, "f32"); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(dir, "e.yaml")
	if err := os.WriteFile(file, []byte("model: "+model+"\nn: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hash := func() string {
		sc, err := config.Load(file)
		if err != nil {
			t.Fatal(err)
		}
		if sc.Experiments[0].ModelSHA256 == "" {
			t.Fatal("no model digest")
		}
		return config.MeasurementConfigHash(sc.Experiments[0])
	}
	synth(1)
	first := hash()
	synth(2)
	if hash() == first {
		t.Error("a different model file under the same name kept the same measurement_config_hash")
	}
}

// TestDryRunHonoursNoGaps: the dry-run's duration estimate leaves out the
// gaps --no-gaps skips (it always counted them).
func TestDryRunHonoursNoGaps(t *testing.T) {
	file, _ := writeStudyFile(t, "model: tiny\nn: 2\ndataset: {input_len: 8, output_len: 4}\nbaseline: {enabled: false}\nwarmup: {enabled: false}\nsweep:\n  native.batch_size: [1, 2]\nexecution: {n_cycles: 2, cycle_order: interleaved, config_gap_seconds: 60, cycle_gap_seconds: 120}\n")
	estimate := func(extra ...string) float64 {
		code, stdout, errOut := runCLI(t, nil, append([]string{"run", file, "--dry-run", "--json"}, extra...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var doc struct {
			EstimatedMinS float64 `json:"estimated_min_duration_s"`
			NoGaps        bool    `json:"no_gaps"`
		}
		if err := json.Unmarshal(resultOf(t, stdout, envelopePlan), &doc); err != nil {
			t.Fatal(err)
		}
		if doc.NoGaps != (len(extra) > 0) {
			t.Errorf("no_gaps = %v with %v", doc.NoGaps, extra)
		}
		return doc.EstimatedMinS
	}
	// 4 runs: 2 config gaps and 1 cycle gap.
	if with, without := estimate(), estimate("--no-gaps"); with != 2*60+120 || without != 0 {
		t.Errorf("estimate %g s with gaps (want 240), %g s with --no-gaps (want 0)", with, without)
	}
}
