package main

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/llenergymeasure/llem/internal/engine/native"
)

// TestBenchJSON runs a tiny bench on the synthetic stories15M and checks the
// JSON fields compare-llamacpp.sh reads.
func TestBenchJSON(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	runErr := run([]string{"bench", "--model", "stories15M", "--threads", "1", "--batch", "2", "--n", "4", "--pp", "8", "--reps", "2", "--json"})
	os.Stdout = stdout
	w.Close()
	out, _ := io.ReadAll(r)
	if runErr != nil {
		t.Fatal(runErr)
	}
	var got struct {
		Batch     int       `json:"batch"`
		NGen      int       `json:"n_gen"`
		NPrompt   int       `json:"n_prompt"`
		TG        float64   `json:"tg"`
		PP        float64   `json:"pp"`
		TGSamples []float64 `json:"tg_samples"`
		PPSamples []float64 `json:"pp_samples"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	if got.Batch != 2 || got.NGen != 4 || got.NPrompt != 8 || len(got.TGSamples) != 2 || len(got.PPSamples) != 2 || got.TG <= 0 || got.PP <= 0 {
		t.Fatalf("unexpected bench output %s", out)
	}
	for i := range 2 {
		if got.TGSamples[i] > got.TG || got.PPSamples[i] > got.PP {
			t.Fatalf("best is not the maximum sample: %s", out)
		}
	}
}

// TestDecodeBytes checks the roofline's bytes per token on a synthetic
// stories15M file (untied: the output matrix counts, the embeddings do
// not): every layer's matrices and norms plus the output, in F32.
func TestDecodeBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := native.SynthesizeGGUFFile(path, "stories15M", 1, "f32"); err != nil {
		t.Fatal(err)
	}
	got, err := decodeBytes(path)
	if err != nil {
		t.Fatal(err)
	}
	// dim 288, 6 layers, ff 768, vocab 32000 (docs/native-engine.md).
	const d, l, ff, v = 288, 6, 768, 32000
	want := uint64(4 * (l*(4*d*d+3*d*ff+2*d) + d + v*d))
	if got != want {
		t.Fatalf("bytes per token %d, want %d", got, want)
	}
	if got, err := decodeBytes(filepath.Join(t.TempDir(), "missing.gguf")); err == nil {
		t.Fatalf("a missing file gave %d bytes and no error", got)
	}
}
