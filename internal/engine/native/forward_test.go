package native

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// TestExpf checks the float32 e^x against float64 math.Exp over the range
// SiLU sees and past it (subnormal results to within their last bit).
func TestExpf(t *testing.T) {
	for x := float32(-100); x <= 100; x += 0.0137 {
		want := math.Exp(float64(x))
		got := float64(expf(x))
		if x < -87 || x > 88.7 { // float32 subnormals and overflow: only the rounding of math.Exp
			want = float64(float32(want))
		}
		if x < -87.33 && math.Abs(got-want) <= 0x1p-149 {
			// Subnormal results: ggml_v_expf's 2^n scaling (s1, s2), which
			// expf follows bit for bit (TestForwardOpsMatchGGML), rounds
			// twice, so the last subnormal bit may differ from math.Exp's.
			continue
		}
		if rel := math.Abs(got-want) / want; rel > 3e-7 && got != want {
			t.Fatalf("expf(%g) = %g, want %g (relative error %g)", x, got, want, rel)
		}
	}
	if got := expf(-200); got != 0 {
		t.Errorf("expf(-200) = %g, want 0", got)
	}
	if got := expf(200); !math.IsInf(float64(got), 1) {
		t.Errorf("expf(200) = %g, want +Inf", got)
	}
}

// TestAttnKernelsAgree checks the attention kernels (scores over strided
// keys, weighted sum of strided values) against the portable ones.
func TestAttnKernelsAgree(t *testing.T) {
	simd, ok := simdKernels()
	if !ok {
		t.Skip("no SIMD kernels on this CPU")
	}
	for _, hd := range []int{8, 12, 48, 64, 128} {
		for _, n := range []int{1, 2, 3, 17} {
			stride := 3*hd + 8
			q, kv := make([]float32, hd), make([]float32, n*stride)
			synthTensor{name: "q", std: 1}.fillRow(1, hd, q)
			synthTensor{name: "kv", std: 1}.fillRow(1, n, kv)
			a, b := make([]float32, n), make([]float32, n)
			attnScoresPortable(q, kv[5:], stride, 0.3, a)
			simd.scores(q, kv[5:], stride, 0.3, b)
			for p := range a {
				if d := math.Abs(float64(a[p] - b[p])); d > 1e-5 {
					t.Fatalf("scores hd %d n %d position %d: portable %g simd %g", hd, n, p, a[p], b[p])
				}
			}
			softmaxPortable(a)
			oa, ob := make([]float32, hd), make([]float32, hd)
			for i := range ob {
				ob[i] = 99 // overwritten, not added to
			}
			attnValuesPortable(a, kv[5:], stride, 32, oa)
			simd.values(a, kv[5:], stride, 32, ob)
			for j := range oa {
				if d := math.Abs(float64(oa[j] - ob[j])); d > 1e-5 {
					t.Fatalf("values hd %d n %d element %d: portable %g simd %g", hd, n, j, oa[j], ob[j])
				}
			}
		}
	}
}

// TestArgmaxAgree checks the SIMD argmax against the portable one,
// including ties (the first index wins), -Inf (banned tokens) and ragged
// lengths.
func TestArgmaxAgree(t *testing.T) {
	simd, ok := simdKernels()
	if !ok {
		t.Skip("no SIMD kernels on this CPU")
	}
	for _, n := range []int{1, 7, 8, 9, 16, 100, 32000} {
		x := make([]float32, n)
		synthTensor{name: "logits", std: 1}.fillRow(3, n, x)
		cases := [][]float32{x}
		tie := append([]float32(nil), x...)
		tie[n/2], tie[n-1] = 5, 5
		cases = append(cases, tie)
		inf := append([]float32(nil), x...)
		inf[argmaxPortable(x)] = float32(math.Inf(-1))
		cases = append(cases, inf, make([]float32, n))
		for i, c := range cases {
			if a, b := argmaxPortable(c), simd.argmax(c); a != b {
				t.Fatalf("n %d case %d: portable %d simd %d", n, i, a, b)
			}
		}
	}
}

// TestPoolCoversRange checks that every index of a parallel loop runs
// exactly once, on a worker index below the pool's size, for pool sizes
// above, at and below the work.
func TestPoolCoversRange(t *testing.T) {
	for _, workers := range []int{1, 2, 3, 8} {
		p := newPool(workers)
		for _, total := range []int{0, 1, 2, 5, 64, 1001} {
			hits := make([]atomic.Int32, total)
			var badWorker atomic.Bool
			for range 3 { // reuse the same goroutines
				p.parallel(total, taskFunc(func(w, lo, hi int) {
					if w < 0 || w >= p.size() {
						badWorker.Store(true)
					}
					for i := lo; i < hi; i++ {
						hits[i].Add(1)
					}
				}))
			}
			for i := range hits {
				if n := hits[i].Load(); n != 3 {
					t.Fatalf("workers %d total %d: index %d ran %d times, want 3", workers, total, i, n)
				}
			}
			if badWorker.Load() {
				t.Fatalf("workers %d: worker index out of range", workers)
			}
		}
		p.close()
		ran := false
		p.parallel(3, taskFunc(func(_, _, _ int) { ran = true }))
		if !ran {
			t.Fatal("closed pool did not run inline")
		}
	}
}

// decodeRunner prepares a runner on the synthetic stories15M model with its
// cache prefilled for one token, ready for decode steps.
func decodeRunner(tb testing.TB, kname string, typ GGMLType, threads int) (*runner, []*kvCache) {
	tb.Helper()
	m, err := SynthModel("stories15M", DefaultWeightsSeed, typ, 2)
	if err != nil {
		tb.Fatal(err)
	}
	return primedRunner(tb, m, kname, threads)
}

// primedRunner is a runner on m with kernels kname, with a 256-token cache
// holding the BOS token's forward pass.
func primedRunner(tb testing.TB, m *Model, kname string, threads int) (*runner, []*kvCache) {
	tb.Helper()
	k, err := selectKernels(kname)
	if err != nil {
		tb.Fatal(err)
	}
	r := newRunner(m, k, threads)
	tb.Cleanup(r.close)
	caches := []*kvCache{newKVCache(m.Shape, 256)}
	r.forward([]step{{pos: 0, tok: 1, logits: true}}, caches)
	return r, caches
}

// decodeStepAllocs is the allocations of one batch-1 decode step, averaged
// over runs steps.
func decodeStepAllocs(r *runner, caches []*kvCache, runs int) float64 {
	pos := 1
	steps := []step{{tok: 100, logits: true}}
	return testing.AllocsPerRun(runs, func() {
		steps[0].pos = pos
		pos++
		r.forward(steps, caches)
	})
}

// TestDecodeStepAllocs pins the decode loop's forward pass at batch 1 to
// zero allocations per token, one thread and two.
func TestDecodeStepAllocs(t *testing.T) {
	for _, threads := range []int{1, 2} {
		r, caches := decodeRunner(t, KernelsAuto, TypeQ8_0, threads)
		if allocs := decodeStepAllocs(r, caches, 20); allocs != 0 {
			t.Errorf("threads %d: %v allocations per decode step, want 0", threads, allocs)
		}
	}
}

// fileRunner is decodeRunner for the GGUF file path with kernels kname.
func fileRunner(tb testing.TB, path, kname string, threads int) (*runner, []*kvCache) {
	tb.Helper()
	m, err := LoadGGUF(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	return primedRunner(tb, m, kname, threads)
}

// TestDecodeStepAllocsGGUF is TestDecodeStepAllocs on LLEM_BENCH_GGUF (a
// Q4_K_M file, say: the integer k-quant path), when set.
func TestDecodeStepAllocsGGUF(t *testing.T) {
	path := os.Getenv("LLEM_BENCH_GGUF")
	if path == "" {
		t.Skip("LLEM_BENCH_GGUF is not set")
	}
	for _, threads := range []int{1, 2} {
		r, caches := fileRunner(t, path, KernelsAuto, threads)
		if allocs := decodeStepAllocs(r, caches, 5); allocs != 0 {
			t.Errorf("threads %d: %v allocations per decode step, want 0", threads, allocs)
		}
	}
}

// BenchmarkDecodeStepGGUF is BenchmarkDecodeStep on LLEM_BENCH_GGUF with
// the default kernels and simd-float (the float path), per thread count.
func BenchmarkDecodeStepGGUF(b *testing.B) {
	path := os.Getenv("LLEM_BENCH_GGUF")
	if path == "" {
		b.Skip("LLEM_BENCH_GGUF is not set")
	}
	for _, threads := range []int{1, 2} {
		for _, kname := range []string{KernelsAuto, KernelsSIMDFloat} {
			b.Run(fmt.Sprintf("%s/threads=%d/kernels=%s", filepath.Base(path), threads, kname), func(b *testing.B) {
				r, caches := fileRunner(b, path, kname, threads)
				steps := []step{{tok: 100, logits: true}}
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					steps[0].pos = 1 + i%250
					r.forward(steps, caches)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
			})
		}
	}
}

// BenchmarkDecodeStep is one batch-1 decode forward pass of stories15M (a
// token's cost without sampling), per tensor type and thread count; run
// with -benchmem to see allocations per token.
func BenchmarkDecodeStep(b *testing.B) {
	for _, typ := range []GGMLType{TypeF32, TypeQ8_0} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("stories15M/%s/threads=%d", typ, threads), func(b *testing.B) {
				r, caches := decodeRunner(b, KernelsAuto, typ, threads)
				steps := []step{{tok: 100, logits: true}}
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					steps[0].pos = 1 + i%250
					r.forward(steps, caches)
				}
			})
		}
	}
}

// BenchmarkPoolStep is the overhead of one parallel step with trivial work
// (a forward pass of stories15M has about 60 per token).
func BenchmarkPoolStep(b *testing.B) {
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			p := newPool(workers)
			defer p.close()
			var sink [2]int
			t := taskFunc(func(w, lo, hi int) { sink[w] += hi - lo })
			for b.Loop() {
				p.parallel(2, t)
			}
		})
	}
}
