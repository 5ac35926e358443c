package native

import (
	"math"
	"testing"
)

// TestQ40x8Agree checks the repacked Q4_0 kernels, portable and AVX2, bit
// for bit against gemvQ8LPortable on the file's row-major rows.
func TestQ40x8Agree(t *testing.T) {
	simd, ok := simdKernels()
	for _, cols := range []int{32, 64, 288, 768} {
		for _, rows := range []int{8, 16, 40} {
			w := make([]float32, rows*cols)
			x := make([]float32, cols)
			synthTensor{name: "w", std: 1}.fillRow(3, cols, w)
			synthTensor{name: "x", std: 1}.fillRow(4, rows, x)
			x[5] = -40 // an outlier, so some activations round to ±127
			raw := quantRow(TypeQ4_0, w, nil)
			for i := 0; i < len(raw); i += 18 * 7 {
				raw[i+2+i%16] = 0x0f // extreme nibbles: −8 and 7
			}
			x8 := repackQ40x8(raw, rows, cols)
			if len(x8) != len(raw) {
				t.Fatalf("repacked %d bytes, raw %d", len(x8), len(raw))
			}
			qs, ds, xs := make([]byte, cols), make([]float32, cols/32), make([]int32, cols/32)
			quantizeQ8Acts(x, qs, ds)
			q8BlockSums(qs, xs)
			want, got := make([]float32, rows), make([]float32, rows)
			gemvQ8LPortable(TypeQ4_0, raw, qs, ds, nil, want, rows, cols)
			gemvQ40x8Portable(x8, qs, ds, got, rows, cols)
			for r := range want {
				if math.Float32bits(want[r]) != math.Float32bits(got[r]) {
					t.Fatalf("rows %d cols %d row %d: repacked portable %g, row-major %g", rows, cols, r, got[r], want[r])
				}
			}
			if !ok || simd.gemmQ40x8 == nil {
				continue
			}
			forQ40Variants(func(v string) {
				clear(got)
				simd.gemmQ40x8(x8, qs, ds, xs, got, 1, rows, rows, cols)
				for r := range want {
					if math.Float32bits(want[r]) != math.Float32bits(got[r]) {
						t.Fatalf("rows %d cols %d row %d: repacked %s %g, row-major %g", rows, cols, r, v, got[r], want[r])
					}
				}
			})
		}
	}
}

// TestQ40x8Repack checks which Q4_0 matrices are repacked (rows a multiple
// of 8) and that the others stay on the float path.
func TestQ40x8Repack(t *testing.T) {
	mk := func(rows int) matrix {
		w := make([]float32, rows*64)
		synthTensor{name: "w", std: 1}.fillRow(5, 64, w)
		return matrix{rows: rows, cols: 64, typ: TypeQ4_0, raw: quantRow(TypeQ4_0, w, nil)}
	}
	m := &Model{output: mk(16), layers: []layer{{wq: mk(8), wk: mk(12), wv: mk(4), wo: mk(24), wGate: mk(8), wUp: mk(8), wDown: mk(9)}}}
	m.repackQ40()
	l := &m.layers[0]
	for _, c := range []struct {
		w      *matrix
		packed bool
	}{{&m.output, true}, {&l.wq, true}, {&l.wk, false}, {&l.wv, false}, {&l.wo, true}, {&l.wDown, false}} {
		if (c.w.x8 != nil) != c.packed {
			t.Errorf("%d rows: repacked %v, want %v", c.w.rows, c.w.x8 != nil, c.packed)
		}
		if c.packed && c.w.blockRows()%8 != 0 {
			t.Errorf("%d rows: block of %d rows", c.w.rows, c.w.blockRows())
		}
	}
	if k, ok := simdKernels(); ok {
		r := &runner{m: m, k: k}
		if r.useQ8(&l.wk, 1) || r.useQ8(&l.wDown, 1) {
			t.Errorf("Q4_0 matrices of 12 and 9 rows on the integer path")
		}
		if r.useQ8(&l.wq, 1) != intQ8ByDefault(TypeQ4_0) {
			t.Errorf("repacked Q4_0 on the integer path: %v, want %v", r.useQ8(&l.wq, 1), intQ8ByDefault(TypeQ4_0))
		}
	}
}

// TestQ40x8GemmAgree checks the repacked kernels over several activation
// rows (the AVX2 one four at a time, then one by one) bit for bit against
// the portable one row by row, and that they write nothing else.
func TestQ40x8GemmAgree(t *testing.T) {
	simd, ok := simdKernels()
	if !ok || simd.gemmQ40x8 == nil {
		t.Skip("no repacked Q4_0 kernel on this CPU")
	}
	for _, cols := range []int{32, 288, 768} {
		for _, rows := range []int{8, 24} {
			w := make([]float32, rows*cols)
			synthTensor{name: "w", std: 1}.fillRow(6, cols, w)
			x8 := repackQ40x8(quantRow(TypeQ4_0, w, nil), rows, cols)
			for _, n := range []int{1, 3, 4, 5, 8, 9} {
				x := make([]float32, n*cols)
				synthTensor{name: "x", std: 1}.fillRow(int64(7+n), rows, x)
				x[n*cols/2] = 50
				qs, ds, xs := make([]byte, n*cols), make([]float32, n*cols/32), make([]int32, n*cols/32)
				quantizeQ8Acts(x, qs, ds)
				q8BlockSums(qs, xs)
				ystride := rows + 5
				want, got := make([]float32, n*ystride), make([]float32, n*ystride)
				for i := range want {
					want[i] = -1
				}
				gemmQ40x8Portable(x8, qs, ds, xs, want, n, ystride, rows, cols)
				forQ40Variants(func(v string) {
					for i := range got {
						got[i] = -1
					}
					simd.gemmQ40x8(x8, qs, ds, xs, got, n, ystride, rows, cols)
					for i := range want {
						if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
							t.Fatalf("cols %d rows %d n %d: y[%d] %s %g, portable %g", cols, rows, n, i, v, got[i], want[i])
						}
					}
				})
			}
		}
	}
}

// TestQ40x8Forward runs a Q4_0 model's forward pass (a 9-token prefill:
// two groups of four rows and one alone, then decode steps) on the
// repacked integer path, with the AVX2 kernels and with the portable
// repacked kernel in their place: the logits must agree bit for bit, and
// stay close to the float path's (simd-float).
func TestQ40x8Forward(t *testing.T) {
	simd, ok := simdKernels()
	if !ok || simd.gemmQ40x8 == nil {
		t.Skip("no repacked Q4_0 kernel on this CPU")
	}
	// stories15M's FF (768) and dims (288) are multiples of 8 and 32.
	m, err := SynthModel("stories15M", 3, TypeQ4_0, 2)
	if err != nil {
		t.Fatal(err)
	}
	flt, err := selectKernels(KernelsSIMDFloat)
	if err != nil {
		t.Fatal(err)
	}
	port := simd
	port.gemmQ40x8 = gemmQ40x8Portable
	var logits [3][][]float32
	for i, k := range []kernels{simd, port, flt} {
		for _, threads := range []int{1, 2} {
			r := newRunner(m, k, threads)
			caches := []*kvCache{newKVCache(m.Shape, 32)}
			var steps []step
			for p := range 9 {
				steps = append(steps, step{pos: p, tok: 1 + 37*p, logits: p == 8})
			}
			out := [][]float32{append([]float32(nil), r.forward(steps, caches)...)}
			for p := 9; p < 12; p++ {
				out = append(out, append([]float32(nil), r.forward([]step{{pos: p, tok: 5 * p, logits: true}}, caches)...))
			}
			r.close()
			if threads == 1 {
				logits[i] = out
				continue
			}
			for s := range out {
				for j := range out[s] {
					if math.Float32bits(out[s][j]) != math.Float32bits(logits[i][s][j]) {
						t.Fatalf("kernels %d step %d logit %d: 2 threads %g, 1 thread %g", i, s, j, out[s][j], logits[i][s][j])
					}
				}
			}
		}
	}
	if m.layers[0].wq.x8 == nil || m.output.x8 == nil {
		t.Fatal("Q4_0 matrices not repacked")
	}
	for s := range logits[0] {
		var maxAbs, maxDiff float64
		for j := range logits[0][s] {
			if math.Float32bits(logits[0][s][j]) != math.Float32bits(logits[1][s][j]) {
				t.Fatalf("step %d logit %d: simd %g, portable repacked %g", s, j, logits[0][s][j], logits[1][s][j])
			}
			maxAbs = max(maxAbs, math.Abs(float64(logits[2][s][j])))
			maxDiff = max(maxDiff, math.Abs(float64(logits[0][s][j]-logits[2][s][j])))
		}
		t.Logf("step %d: integer and float logits differ by up to %.3g (largest %.3g)", s, maxDiff, maxAbs)
		if maxDiff > 0.05*maxAbs {
			t.Errorf("step %d: integer logits differ from the float path's by up to %g (largest %g)", s, maxDiff, maxAbs)
		}
	}
}

// TestDecodeStepAllocsQ40 is TestDecodeStepAllocs for Q4_0 weights on the
// repacked integer path.
func TestDecodeStepAllocsQ40(t *testing.T) {
	for _, threads := range []int{1, 2} {
		r, caches := decodeRunner(t, KernelsAuto, TypeQ4_0, threads)
		if allocs := decodeStepAllocs(r, caches, 20); allocs != 0 {
			t.Errorf("threads %d: %v allocations per decode step, want 0", threads, allocs)
		}
	}
}
