package native

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/llenergymeasure/llem/config"
)

// TestInspectRefusesWhatCannotApply: settings the native engine would
// accept and ignore are refused before anything loads.
func TestInspectRefusesWhatCannotApply(t *testing.T) {
	dir := t.TempDir()
	gguf := filepath.Join(dir, "tiny.gguf")
	if err := SynthesizeGGUFFile(gguf, "tiny", 1, "q8_0"); err != nil {
		t.Fatal(err)
	}
	notGGUF := filepath.Join(dir, "notes.gguf")
	if err := os.WriteFile(notGGUF, []byte("not a gguf file, just text"), 0o644); err != nil {
		t.Fatal(err)
	}
	tooMany := runtime.NumCPU() + 1
	seed := int64(7)
	portable := "portable"
	for _, tc := range []struct {
		name  string
		cfg   config.ExperimentConfig
		field string
		want  string
	}{
		{"threads beyond the cores", config.ExperimentConfig{Model: "tiny", Native: &config.NativeConfig{Threads: &tooMany}}, "native.threads", "threads on a machine with"},
		{"precision on a GGUF", config.ExperimentConfig{Model: gguf, Precision: "f16"}, "precision", "runs in its own tensor types"},
		{"weights_seed on a GGUF", config.ExperimentConfig{Model: gguf, Native: &config.NativeConfig{WeightsSeed: &seed}}, "native.weights_seed", "seeds synthetic shapes only"},
		{"missing model", config.ExperimentConfig{Model: filepath.Join(dir, "absent.gguf")}, "model", "neither a synthetic shape"},
		{"not a GGUF", config.ExperimentConfig{Model: notGGUF}, "model", "not a GGUF file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := Inspect(tc.cfg)
			if len(errs) != 1 || errs[0].Field != tc.field || !strings.Contains(errs[0].Msg, tc.want) {
				t.Errorf("got %v, want one %s error with %q", errs, tc.field, tc.want)
			}
		})
	}
	// What applies is accepted, and the facts come from the model.
	facts, errs := Inspect(config.ExperimentConfig{Model: gguf, Native: &config.NativeConfig{Kernels: &portable}})
	if len(errs) != 0 || facts.Context != 1024 || facts.Tokenizer == nil {
		t.Errorf("GGUF: facts %+v, errors %v", facts, errs)
	}
	facts, errs = Inspect(config.ExperimentConfig{Model: "stories15M", Precision: "q8_0"})
	if len(errs) != 0 || facts.Context != 2048 || facts.Tokenizer == nil {
		t.Errorf("shape: facts %+v, errors %v", facts, errs)
	}
}
