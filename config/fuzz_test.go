package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary bytes to the study parser: it must return a
// study or an error, never panic, and a study it returns must plan.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../examples/*.yaml")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("model: m\nbackend: [pytorch, vllm]\nsweep:\n  x: [{a.b: 1}, {vllm: {}}]\n"))
	f.Add([]byte("a: &x {b: *x}\n"))
	f.Add([]byte("<<: {model: m}\nmodel: n\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := Parse(data, filepath.Join(dir, "fuzz.yaml"), dir)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if len(sc.Experiments) == 0 {
			t.Fatal("a study without experiments must be an error")
		}
		if len(sc.Experiments) <= 10_000 {
			_ = Plan(sc)
		}
	})
}

// bigStudy is a 5-axis native sweep of 2,500 configurations; with 4 cycles
// it plans 10,000 runs.
func bigStudy() []byte { return sweepStudy(5, 4) }

// sweepStudy is a native sweep of 500 × threads configurations run cycles
// times.
func sweepStudy(threads, cycles int) []byte {
	list := func(n, from int) string {
		s := make([]string, n)
		for i := range s {
			s[i] = fmt.Sprint(from + i)
		}
		return "[" + strings.Join(s, ", ") + "]"
	}
	return []byte("name: big\nmodel: tiny\nbackend: native\ndecoder.decoding_strategy: sampling\nsweep:\n" +
		"  batch_size: " + list(10, 1) + "\n" +
		"  n: " + list(5, 10) + "\n" +
		"  dataset.input_len: " + list(5, 32) + "\n" +
		"  decoder.temperature: [0.5, 1.0]\n" +
		"  native.threads: " + list(threads, 1) + "\n" +
		fmt.Sprintf("execution: {n_cycles: %d, cycle_order: shuffled}\n", cycles))
}

func TestResolve10000Fast(t *testing.T) {
	start := time.Now()
	sc, err := Parse(bigStudy(), "big.yaml", ".")
	if err != nil {
		t.Fatal(err)
	}
	runs := Plan(sc)
	elapsed := time.Since(start)
	if len(sc.Experiments) != 2500 || len(runs) != 10_000 {
		t.Fatalf("%d experiments, %d runs", len(sc.Experiments), len(runs))
	}
	// The target is well under a second; the bound here leaves room for a
	// loaded CI machine and the race detector.
	if elapsed > 5*time.Second {
		t.Errorf("Parse + Plan of 10,000 runs took %v", elapsed)
	}
	t.Logf("Parse + Plan of 10,000 runs: %v", elapsed)
}

// BenchmarkResolve10000 measures Parse + Plan of a 10,000-run study.
func BenchmarkResolve10000(b *testing.B) {
	data := bigStudy()
	for b.Loop() {
		sc, err := Parse(data, "big.yaml", ".")
		if err != nil {
			b.Fatal(err)
		}
		if runs := Plan(sc); len(runs) != 10_000 {
			b.Fatalf("%d runs", len(runs))
		}
	}
}

// BenchmarkResolve10000Distinct measures Parse + Plan of 10,000 distinct
// configurations, one cycle each.
func BenchmarkResolve10000Distinct(b *testing.B) {
	data := sweepStudy(20, 1)
	for b.Loop() {
		sc, err := Parse(data, "big.yaml", ".")
		if err != nil {
			b.Fatal(err)
		}
		if runs := Plan(sc); len(sc.Experiments) != 10_000 || len(runs) != 10_000 {
			b.Fatalf("%d experiments, %d runs", len(sc.Experiments), len(runs))
		}
	}
}
