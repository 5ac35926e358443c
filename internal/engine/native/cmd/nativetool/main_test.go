package main

import (
	"encoding/json"
	"io"
	"os"
	"testing"
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
