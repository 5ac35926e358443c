package native

import (
	"fmt"
)

// Kernel path names recorded in LoadInfo.Effective["kernels"].
const (
	KernelsAuto     = "auto"
	KernelsSIMD     = "simd"
	KernelsPortable = "portable"
	// KernelsSIMDFloat is simd with Q8_0, Q4_0…Q5_1 and Q2_K…Q6_K weights multiplied
	// against float32 activations (the path before the integer kernels).
	KernelsSIMDFloat = "simd-float"
)

// kernels is the set of inner loops the forward pass runs.
type kernels struct {
	// name is what effective.kernels records: "avx512vnni-int8-asm",
	// "avx512-int8-asm" (AVX-512 VL, no VNNI), "avx2-int8-asm",
	// "avx512-fma-asm" or "avx2-fma-asm" (simd-float), or "portable-go".
	name string
	dot  func(a, b []float32) float32
	// scores sets out[p] = scale·dot(q, k[p·stride:p·stride+len(q)]) for
	// p < len(out) (a head's attention scores over its cached keys), each
	// dot in ggml_vec_dot_f32's order (dotGGML).
	scores func(q, k []float32, stride int, scale float32, out []float32)
	// values sets out[j] = Σ_p a[p]·v[p·stride+j] for j < len(out),
	// p < len(a) (the attention's weighted sum of cached values), position
	// p in lane p%lanes as llama.cpp sums it: lanes 8 for the prompt
	// tokens of a ubatch of two or more (tinyBLAS), 32 for decode steps
	// (ggml_vec_dot_f32); see attnValuesPortable.
	values func(a, v []float32, stride, lanes int, out []float32)
	// softmax is softmaxPortable; rows are padded to a multiple of 8.
	softmax func(x []float32)
	// swiglu is swigluPortable.
	swiglu func(g, u []float32)
	// argmax returns the first index of the largest element (greedy
	// decoding; logits hold no NaNs).
	argmax func(x []float32) int
	// gemv sets y[r] = dot(w[r*cols:(r+1)*cols], x) for r < rows.
	gemv func(w, x, y []float32, rows, cols int)
	// gemvCached is gemv for a block of w already in cache.
	gemvCached func(w, x, y []float32, rows, cols int)
	// gemmCached2, when set, is gemvCached for two activation rows at once
	// (x: two rows of cols floats; output row b at y[b·ystride:]), equal to
	// it bit for bit.
	gemmCached2 func(w, x, y []float32, rows, cols, ystride int)
	// dequant decodes one row of a tensor type to float32.
	dequant func(t GGMLType, src []byte, dst []float32)
	// gemvQuant, when set, is gemv straight from quantized rows of type t;
	// it reports false when it cannot handle t or cols.
	gemvQuant func(t GGMLType, w []byte, x, y []float32, rows, cols int) bool
	// gemvQ8, when set, multiplies Q8_0 weight rows with activations
	// quantised to Q8_0 (quantizeQ8Acts) in integer arithmetic.
	gemvQ8 func(w, qs []byte, ds, y []float32, rows, cols int)
	// gemvQ8Cached is gemvQ8 for weight rows already in cache.
	gemvQ8Cached func(w, qs []byte, ds, y []float32, rows, cols int)
	// quantQ8, when set, is quantizeQ8ActsSums (the activations of the
	// integer Q8_0 and legacy paths) in SIMD, bit for bit.
	quantQ8 func(x []float32, qs []byte, ds, ss []float32)
	// quantQ8K, when set, is quantizeQ8KActs (the k-quant paths'
	// activations) in SIMD, bit for bit.
	quantQ8K func(x []float32, qs []byte, ds []float32, bs []int16)
	// q8LaneSums and gemvQ8C, when set, replace gemvQ8 and gemvQ8Cached:
	// q8LaneSums computes, once per quantised activation row, corrections
	// (8 int32 per block) that gemvQ8C starts each block's sums from; the
	// results are gemvQ8's bit for bit.
	q8LaneSums func(qs []byte, xc []int32)
	gemvQ8C    func(w, qs []byte, xc []int32, ds, y []float32, rows, cols int)
	// gemmQ8x4, when set, is gemvQ8Cached for four activation rows at
	// once (qs, ds: four rows of cols values; output row b at
	// y[b·ystride:]), each weight block loaded once for the four.
	gemmQ8x4 func(w, qs []byte, ds, y []float32, rows, cols, ystride int)
	// gemvQ8L, when set, multiplies weight rows of the legacy types ggml
	// pairs with Q8_0 or Q8_1 activations (Q5_0; Q4_1, Q5_1) with
	// activations quantised to Q8_0 (and, for Q8_1, their sums ss) in
	// integer arithmetic; it reports false for other types (Q4_0 runs
	// repacked, gemmQ40x8) or ragged rows.
	gemvQ8L func(t GGMLType, w, qs []byte, ds, ss, y []float32, rows, cols int) bool
	// gemmQ40x8, when set, multiplies rows (a multiple of 8) of a Q4_0
	// matrix repacked as block_q4_0x8 (matrix.x8) with n rows of Q8_0
	// activations (consecutive in qs, ds) and their block sums xs
	// (q8BlockSums) in integer arithmetic, row b's results at
	// y[b·ystride:]; each output as gemvQ40x8Portable computes it.
	gemmQ40x8 func(w, qs []byte, ds []float32, xs []int32, y []float32, n, ystride, rows, cols int)
	// gemvQK, when set, multiplies Q2_K…Q6_K weight rows (intK types)
	// with activations quantised to Q8_K (quantizeQ8KActs: values qs,
	// scales ds, 16-value sums bs) in integer arithmetic, Q4_K in float
	// order order (qkOrderLanes…); it reports false for other types or
	// ragged rows.
	gemvQK func(t GGMLType, order int, w, qs []byte, ds []float32, bs []int16, y []float32, rows, cols int) bool
	// gemmQ4Kx8, when set, is gemvQK for Q4_K rows in the repacked orders
	// (perSub: qkOrderSub, else qkOrderBlock) over their repacked copy
	// (matrix.x8, repackQ4Kx8; rows a multiple of 8), for nact activation
	// rows (qs, ds, bs: nact rows of cols values; output row b at
	// y[b·ystride:]); each output as gemmQ4Kx8Portable computes it, which
	// is gemvQK's bit for bit.
	gemmQ4Kx8 func(perSub bool, w, qs []byte, ds []float32, bs []int16, y []float32, rows, cols, nact, ystride int)
	// gemmQ6K, when set, multiplies Q6_K weight rows with four Q8_K
	// activation rows at once (output row b at y[b·ystride:]), bit for bit
	// as gemvQK per row.
	gemmQ6K func(w, qs []byte, ds []float32, bs []int16, y []float32, rows, cols, ystride int)
}

// selectKernels resolves a kernels setting (auto, simd, simd-float,
// portable) to an implementation, erroring when simd is asked for and this
// CPU lacks it. auto and simd include the integer Q8_0, Q4_0…Q5_1 and
// Q2_K…Q6_K kernels; simd-float leaves them out.
func selectKernels(want string) (kernels, error) {
	portable := kernels{name: "portable-go", dot: dotPortable, scores: attnScoresPortable, values: attnValuesPortable, softmax: softmaxPortable, swiglu: swigluPortable, argmax: argmaxPortable, gemv: gemvPortable, gemvCached: gemvPortable, dequant: dequantRow}
	simd, ok := simdKernels()
	switch want {
	case "", KernelsAuto:
		if ok {
			return simd, nil
		}
		return portable, nil
	case KernelsSIMD, KernelsSIMDFloat:
		if !ok {
			return kernels{}, fmt.Errorf("kernels=%s: %s", want, simdUnavailable())
		}
		if want == KernelsSIMDFloat {
			simd.name, simd.gemvQ8, simd.gemvQ8Cached, simd.gemmQ8x4, simd.gemvQ8L, simd.gemmQ40x8, simd.gemvQK, simd.gemmQ4Kx8, simd.gemmQ6K, simd.quantQ8, simd.quantQ8K, simd.q8LaneSums, simd.gemvQ8C = "avx2-fma-asm", nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil
			if simd.gemmCached2 != nil {
				simd.name = "avx512-fma-asm" // the F32 tile stays
			}
		}
		return simd, nil
	case KernelsPortable:
		return portable, nil
	}
	return kernels{}, fmt.Errorf("unknown kernels %q (want auto, simd, simd-float or portable)", want)
}

// intK reports whether the integer k-quant kernel (gemvQK) serves weights
// of type t.
func intK(t GGMLType) bool {
	return t == TypeQ2_K || t == TypeQ3_K || t == TypeQ4_K || t == TypeQ5_K || t == TypeQ6_K
}

// dotPortable is the pure-Go dot product, unrolled by four with independent
// accumulators.
func dotPortable(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func gemvPortable(w, x, y []float32, rows, cols int) { gemvWith(dotPortable, w, x, y, rows, cols) }

func gemvWith(dot func(a, b []float32) float32, w, x, y []float32, rows, cols int) {
	for r := 0; r < rows; r++ {
		y[r] = dot(w[r*cols:(r+1)*cols], x)
	}
}
