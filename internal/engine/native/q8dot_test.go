package native

import (
	"math"
	"testing"
)

// TestQ8Q8Agree checks the integer Q8_0 kernel against the portable one
// (including -128 weights, which only ggml's |w|·x·sign(w) order gets
// right), and both against the float product of the dequantised weights.
func TestQ8Q8Agree(t *testing.T) {
	simd, ok := simdKernels()
	if !ok || simd.gemvQ8 == nil {
		t.Skip("no integer Q8_0 kernel on this CPU")
	}
	for _, cols := range []int{32, 64, 288, 768} {
		for _, rows := range []int{1, 3, 4, 5, 8, 9} {
			w := make([]float32, rows*cols)
			x := make([]float32, cols)
			synthTensor{name: "w", std: 1}.fillRow(1, cols, w)
			synthTensor{name: "x", std: 1}.fillRow(2, rows, x)
			raw := quantRow(TypeQ8_0, w, nil)
			raw[2+5] = 0x80 // a -128 weight in row 0, block 0
			qs, ds := make([]byte, cols), make([]float32, cols/32)
			quantizeQ8Acts(x, qs, ds)
			want, got, flt := make([]float32, rows), make([]float32, rows), make([]float32, rows)
			gemvQ8Q8Portable(raw, qs, ds, want, rows, cols)
			simd.gemvQ8(raw, qs, ds, got, rows, cols)
			cached := make([]float32, rows)
			simd.gemvQ8Cached(raw, qs, ds, cached, rows, cols)
			vnni := make([]float32, rows)
			if simd.gemvQ8C != nil {
				xc := make([]int32, cols/4)
				simd.q8LaneSums(qs, xc)
				simd.gemvQ8C(raw, qs, xc, ds, vnni, rows, cols)
			} else {
				copy(vnni, want)
			}
			deq := make([]float32, rows*cols)
			dequantRow(TypeQ8_0, raw, deq)
			gemvPortable(deq, x, flt, rows, cols)
			for r := range want {
				// Bit for bit: every kernel adds in ggml's order.
				if want[r] != got[r] {
					t.Fatalf("rows %d cols %d row %d: portable %g simd %g", rows, cols, r, want[r], got[r])
				}
				if want[r] != cached[r] {
					t.Fatalf("cached: rows %d cols %d row %d: portable %g simd %g", rows, cols, r, want[r], cached[r])
				}
				if want[r] != vnni[r] {
					t.Fatalf("VNNI: rows %d cols %d row %d: portable %g simd %g", rows, cols, r, want[r], vnni[r])
				}
				// Activation rounding: at most half a step of max|x|/127 per element.
				if d := math.Abs(float64(want[r] - flt[r])); d > 0.02*math.Sqrt(float64(cols)) {
					t.Fatalf("rows %d cols %d row %d: integer %g, float %g", rows, cols, r, want[r], flt[r])
				}
			}
		}
	}
}

// TestGemmQ8x4Agree checks the four-activation-row Q8_0 tile kernel
// against the portable kernel (ggml's order) bit for bit, including weight
// row counts that leave a remainder for the row kernel and a −128 weight.
func TestGemmQ8x4Agree(t *testing.T) {
	simd, ok := simdKernels()
	if !ok || simd.gemmQ8x4 == nil {
		t.Skip("no Q8_0 tile kernel on this CPU (needs AVX-512 VNNI)")
	}
	for _, cols := range []int{32, 64, 288, 768} {
		for _, rows := range []int{1, 3, 4, 5, 8, 9, 12} {
			w := make([]float32, rows*cols)
			x := make([]float32, 4*cols)
			synthTensor{name: "w", std: 1}.fillRow(1, cols, w)
			synthTensor{name: "x", std: 3}.fillRow(2, rows, x)
			raw := quantRow(TypeQ8_0, w, nil)
			raw[2+5] = 0x80 // a -128 weight in row 0, block 0
			qs, ds := make([]byte, 4*cols), make([]float32, 4*cols/32)
			quantizeQ8Acts(x, qs, ds)
			const pad = 3 // output rows wider than the block, as in a forward pass
			ystride := rows + pad
			got := make([]float32, 4*ystride)
			for i := range got {
				got[i] = -1
			}
			simd.gemmQ8x4(raw, qs, ds, got, rows, cols, ystride)
			for b := range 4 {
				want := make([]float32, rows)
				gemvQ8Q8Portable(raw, qs[b*cols:(b+1)*cols], ds[b*cols/32:(b+1)*cols/32], want, rows, cols)
				for r := range rows {
					if g := got[b*ystride+r]; g != want[r] {
						t.Fatalf("rows %d cols %d act %d row %d: portable %g tile %g", rows, cols, b, r, want[r], g)
					}
				}
				for r := rows; r < ystride; r++ {
					if got[b*ystride+r] != -1 {
						t.Fatalf("rows %d cols %d act %d: wrote past its rows at %d", rows, cols, b, r)
					}
				}
			}
		}
	}
}

// TestQuantizeQ8Acts checks the activation quantiser on fixed values:
// scale max|x|/127 (as f16), values rounded half to even, zeros kept.
func TestQuantizeQ8Acts(t *testing.T) {
	x := make([]float32, 64)
	x[0], x[1], x[2], x[3] = 127, -63.5, 0.5, 1.5 // block 0: scale 1
	qs, ds := make([]byte, 64), make([]float32, 2)
	quantizeQ8Acts(x, qs, ds)
	if ds[0] != 1 || ds[1] != 0 {
		t.Errorf("scales %v, want [1 0]", ds)
	}
	for i, want := range []int8{127, -64, 0, 2} {
		if got := int8(qs[i]); got != want {
			t.Errorf("q[%d] = %d, want %d", i, got, want)
		}
	}
	for i := 32; i < 64; i++ {
		if qs[i] != 0 {
			t.Fatalf("zero block quantised to %d at %d", int8(qs[i]), i)
		}
	}
}

// TestQ8LAgree checks the integer kernels of the legacy types paired with
// Q8_0 or Q8_1 activations (Q4_0, Q5_0, Q4_1, Q5_1) against the portable ones, exactly (both add
// each block's scaled sum with one fused multiply-add, in order), and
// against the float product of the dequantised weights.
func TestQ8LAgree(t *testing.T) {
	simd, ok := simdKernels()
	if !ok || simd.gemvQ8L == nil {
		t.Skip("no integer legacy kernels on this CPU")
	}
	// Q4_0 has no SIMD row kernel (it runs repacked: TestQ40x8Agree).
	for _, typ := range []GGMLType{TypeQ5_0, TypeQ4_1, TypeQ5_1} {
		for _, cols := range []int{32, 64, 288, 768} {
			for _, rows := range []int{1, 3, 8, 9} {
				w := make([]float32, rows*cols)
				x := make([]float32, cols)
				synthTensor{name: "w", std: 1}.fillRow(1, cols, w)
				synthTensor{name: "x", std: 1}.fillRow(2, rows, x)
				x[3] = 40 // an outlier, so some activations round to ±127
				raw := quantRow(typ, w, nil)
				qs, ds, ss := make([]byte, cols), make([]float32, cols/32), make([]float32, cols/32)
				quantizeQ8ActsSums(x, qs, ds, ss)
				want, got, flt := make([]float32, rows), make([]float32, rows), make([]float32, rows)
				if !gemvQ8LPortable(typ, raw, qs, ds, ss, want, rows, cols) || !simd.gemvQ8L(typ, raw, qs, ds, ss, got, rows, cols) {
					t.Fatalf("%v: kernel declined cols %d", typ, cols)
				}
				deq := make([]float32, rows*cols)
				dequantRow(typ, raw, deq)
				gemvPortable(deq, x, flt, rows, cols)
				for r := range want {
					// fma32 rounds twice (float64, then float32), which
					// could in principle differ from VFMADD231SS in the
					// last bit; on these inputs it does not.
					if want[r] != got[r] {
						t.Fatalf("%v rows %d cols %d row %d: portable %g simd %g", typ, rows, cols, r, want[r], got[r])
					}
					if d := math.Abs(float64(want[r] - flt[r])); d > 0.5*math.Sqrt(float64(cols)) {
						t.Fatalf("%v rows %d cols %d row %d: integer %g, float %g", typ, rows, cols, r, want[r], flt[r])
					}
				}
			}
		}
	}
}

// TestQuantizeQ8SIMDAgrees checks the AVX2 activation quantiser against the
// portable one (ggml's quantize_row_q8_0/_q8_1) byte for byte: random
// blocks, a zero block, exact halves that round to even, an outlier that
// puts others near zero, and negative-only blocks.
func TestQuantizeQ8SIMDAgrees(t *testing.T) {
	simd, ok := simdKernels()
	if !ok || simd.quantQ8 == nil {
		t.Skip("no SIMD quantiser on this CPU")
	}
	const nb = 40
	x := make([]float32, nb*32)
	synthTensor{name: "x", std: 2}.fillRow(3, 0, x)
	clear(x[32:64]) // a zero block
	for i := range 32 {
		x[64+i] = float32(i) - 15.5 // halves: ×127/16 gives ties in places
		x[96+i] = -float32(i+1) * 0.25
	}
	x[130] = 1e4 // an outlier
	for _, withSums := range []bool{false, true} {
		wq, gq := make([]byte, len(x)), make([]byte, len(x))
		wd, gd := make([]float32, nb), make([]float32, nb)
		var ws, gs []float32
		if withSums {
			ws, gs = make([]float32, nb), make([]float32, nb)
		}
		quantizeQ8ActsSums(x, wq, wd, ws)
		simd.quantQ8(x, gq, gd, gs)
		for i := range wq {
			if wq[i] != gq[i] {
				t.Fatalf("sums %v: value %d: portable %d simd %d", withSums, i, int8(wq[i]), int8(gq[i]))
			}
		}
		for b := range nb {
			if wd[b] != gd[b] {
				t.Fatalf("sums %v: scale %d: portable %g simd %g", withSums, b, wd[b], gd[b])
			}
			if withSums && ws[b] != gs[b] {
				t.Fatalf("block sum %d: portable %g simd %g", b, ws[b], gs[b])
			}
		}
	}
}

// TestQuantizeQ8KSIMDAgrees checks the AVX2 Q8_K activation quantiser
// against the portable one (ggml's quantize_row_q8_K_ref) exactly: random
// super-blocks, a zero block, a tie for the largest magnitude with
// opposite signs (the first wins), values that saturate at 127, and halves.
func TestQuantizeQ8KSIMDAgrees(t *testing.T) {
	simd, ok := simdKernels()
	if !ok || simd.quantQ8K == nil {
		t.Skip("no SIMD quantiser on this CPU")
	}
	const nb = 7
	x := make([]float32, nb*qkK)
	synthTensor{name: "x", std: 2}.fillRow(5, 0, x)
	clear(x[qkK : 2*qkK])           // a zero block
	x[2*qkK+40], x[2*qkK+7] = 9, -9 // a tie: the first (−9 at 7) sets the sign
	for i := range qkK {
		x[3*qkK+i] = float32(i%32) - 15.5 // halves
	}
	x[4*qkK+200] = -50 // the maximum late in the block, negative
	x[5*qkK] = 1e-30   // tiny values
	wq, gq := make([]byte, len(x)), make([]byte, len(x))
	wd, gd := make([]float32, nb), make([]float32, nb)
	wb, gb := make([]int16, nb*16), make([]int16, nb*16)
	for i := range gb {
		gb[i] = 99 // the zero block's sums must be written
	}
	quantizeQ8KActs(x, wq, wd, wb)
	simd.quantQ8K(x, gq, gd, gb)
	for i := range wq {
		if wq[i] != gq[i] {
			t.Fatalf("value %d: portable %d simd %d", i, int8(wq[i]), int8(gq[i]))
		}
	}
	for b := range nb {
		if wd[b] != gd[b] {
			t.Fatalf("scale %d: portable %g simd %g", b, wd[b], gd[b])
		}
	}
	for i := range wb {
		if wb[i] != gb[i] {
			t.Fatalf("sum %d: portable %d simd %d", i, wb[i], gb[i])
		}
	}
}
