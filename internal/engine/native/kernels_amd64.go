package native

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// dotAVX2 is implemented in kernels_amd64.s (AVX2 + FMA).
//
//go:noescape
func dotAVX2(a, b *float32, n int) float32

func dotSIMD(a, b []float32) float32 {
	if len(a) == 0 {
		return 0
	}
	b = b[:len(a)]
	return dotAVX2(unsafe.SliceData(a), unsafe.SliceData(b), len(a))
}

// gemvSIMD is one dotAVX2 per weight row, for weights streamed from
// memory. gemvAVX2's four rows at a time, sharing each load of x, ran
// stories15M F32 decode at half the speed on the development VM
// (2026-11-30: 200 vs 450 tokens/s at one thread): four interleaved
// streams through weights far larger than the caches defeat the hardware
// prefetcher. On a block already in cache it is twice as fast, hence
// gemvCachedSIMD.
func gemvSIMD(w, x, y []float32, rows, cols int) { gemvWith(dotSIMD, w, x, y, rows, cols) }

// gemvAVX2 is implemented in kernels_amd64.s; cols%8 == 0.
//
//go:noescape
func gemvAVX2(w, x, y *float32, rows, cols int)

// gemvCachedSIMD is gemv for a weight block already in cache (decoded, or
// multiplied with an earlier activation row): four rows at a time.
func gemvCachedSIMD(w, x, y []float32, rows, cols int) {
	if cols%8 != 0 {
		gemvWith(dotSIMD, w, x, y, rows, cols)
		return
	}
	if rows == 0 || cols == 0 {
		return
	}
	_ = w[rows*cols-1]
	_ = x[cols-1]
	_ = y[rows-1]
	gemvAVX2(unsafe.SliceData(w), unsafe.SliceData(x), unsafe.SliceData(y), rows, cols)
}

// f16ToF32AVX2 and q80ToF32AVX2 are implemented in kernels_amd64.s (F16C,
// AVX2).
//
//go:noescape
func f16ToF32AVX2(src *uint16, dst *float32, n int)

//go:noescape
func q80ToF32AVX2(src *byte, dst *float32, nblocks int)

// dequantSIMD decodes F16 and Q8_0 rows with vector instructions and other
// types with the portable code.
func dequantSIMD(t GGMLType, src []byte, dst []float32) {
	n := len(dst)
	switch {
	case n == 0:
		return
	case t == TypeF16 && n%8 == 0:
		_ = src[2*n-1]
		f16ToF32AVX2((*uint16)(unsafe.Pointer(unsafe.SliceData(src))), unsafe.SliceData(dst), n)
	case t == TypeQ8_0 && n%32 == 0:
		_ = src[n/32*34-1]
		q80ToF32AVX2(unsafe.SliceData(src), unsafe.SliceData(dst), n/32)
	default:
		dequantRow(t, src, dst)
	}
}

//go:noescape
func gemvF16AVX2(w *uint16, x, y *float32, rows, cols int)

//go:noescape
func gemvQ80AVX2(w *byte, x, y *float32, rows, nblocks int)

// q2kDotAVX2 … q6kDotAVX2 (kernels_amd64.s) return the dot product of
// nblocks Q2_K … Q6_K super-blocks with x; tmp is 32 floats of scratch for
// a block's decoded scales.
//
//go:noescape
func q4kDotAVX2(blocks *byte, x *float32, nblocks int, tmp *float32) float32

//go:noescape
func q5kDotAVX2(blocks *byte, x *float32, nblocks int, tmp *float32) float32

//go:noescape
func q2kDotAVX2(blocks *byte, x *float32, nblocks int, tmp *float32) float32

//go:noescape
func q3kDotAVX2(blocks *byte, x *float32, nblocks int, tmp *float32) float32

//go:noescape
func q6kDotAVX2(blocks *byte, x *float32, nblocks int, tmp *float32) float32

// q40DotAVX2, q41DotAVX2, q50DotAVX2 and q51DotAVX2 are the kernels of the
// 32-weight block types, with the same signature (tmp unused).
//
//go:noescape
func q40DotAVX2(blocks *byte, x *float32, nblocks int, tmp *float32) float32

//go:noescape
func q41DotAVX2(blocks *byte, x *float32, nblocks int, tmp *float32) float32

//go:noescape
func q50DotAVX2(blocks *byte, x *float32, nblocks int, tmp *float32) float32

//go:noescape
func q51DotAVX2(blocks *byte, x *float32, nblocks int, tmp *float32) float32

// bf16DotAVX2 takes runs of 8 BF16 weights as its blocks (tmp unused).
//
//go:noescape
func bf16DotAVX2(blocks *byte, x *float32, nblocks int, tmp *float32) float32

// gemvBlocks runs a block dot kernel over rows of cols/perBlock blocks of
// size bytes each.
func gemvBlocks(dot func(*byte, *float32, int, *float32) float32, perBlock, size int, w []byte, x, y []float32, rows, cols int) {
	nb := cols / perBlock
	_ = w[rows*nb*size-1]
	_ = x[cols-1]
	_ = y[rows-1]
	var tmp [32]float32
	for r := range rows {
		y[r] = dot(&w[r*nb*size], unsafe.SliceData(x), nb, &tmp[0])
	}
}

// gemvQuantSIMD multiplies F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 and Q2_K…Q6_K rows without decoding
// them to memory first; it reports false for other types or ragged rows.
func gemvQuantSIMD(t GGMLType, w []byte, x, y []float32, rows, cols int) bool {
	if rows == 0 {
		return true
	}
	switch {
	case t == TypeF16 && cols%8 == 0:
		_ = w[2*rows*cols-1]
		_ = x[cols-1]
		_ = y[rows-1]
		// One row per call: as for F32 (gemvSIMD), four interleaved rows
		// ran at about half the speed (stories15M F16: 300 vs 560 tokens/s).
		for r := range rows {
			gemvF16AVX2((*uint16)(unsafe.Pointer(&w[2*r*cols])), unsafe.SliceData(x), &y[r], 1, cols)
		}
		return true
	case t == TypeQ8_0 && cols%32 == 0:
		_ = w[rows*(cols/32)*34-1]
		_ = x[cols-1]
		_ = y[rows-1]
		gemvQ80AVX2(unsafe.SliceData(w), unsafe.SliceData(x), unsafe.SliceData(y), rows, cols/32)
		return true
	case t == TypeBF16 && cols%8 == 0:
		gemvBlocks(bf16DotAVX2, 8, 16, w, x, y, rows, cols)
		return true
	case t == TypeQ4_0 && cols%32 == 0:
		gemvBlocks(q40DotAVX2, 32, 18, w, x, y, rows, cols)
		return true
	case t == TypeQ4_1 && cols%32 == 0:
		gemvBlocks(q41DotAVX2, 32, 20, w, x, y, rows, cols)
		return true
	case t == TypeQ5_0 && cols%32 == 0:
		gemvBlocks(q50DotAVX2, 32, 22, w, x, y, rows, cols)
		return true
	case t == TypeQ5_1 && cols%32 == 0:
		gemvBlocks(q51DotAVX2, 32, 24, w, x, y, rows, cols)
		return true
	case t == TypeQ2_K && cols%qkK == 0:
		gemvBlocks(q2kDotAVX2, qkK, 84, w, x, y, rows, cols)
		return true
	case t == TypeQ3_K && cols%qkK == 0:
		gemvBlocks(q3kDotAVX2, qkK, 110, w, x, y, rows, cols)
		return true
	case t == TypeQ4_K && cols%qkK == 0:
		gemvBlocks(q4kDotAVX2, qkK, 144, w, x, y, rows, cols)
		return true
	case t == TypeQ5_K && cols%qkK == 0:
		gemvBlocks(q5kDotAVX2, qkK, 176, w, x, y, rows, cols)
		return true
	case t == TypeQ6_K && cols%qkK == 0:
		gemvBlocks(q6kDotAVX2, qkK, 210, w, x, y, rows, cols)
		return true
	}
	return false
}

func simdKernels() (kernels, bool) {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C {
		k := kernels{name: "avx2-int8-asm", dot: dotSIMD, scores: attnScoresSIMD, values: attnValuesSIMD, softmax: softmaxSIMD, swiglu: swigluSIMD, argmax: argmaxSIMD, gemv: gemvSIMD, gemvCached: gemvCachedSIMD, dequant: dequantSIMD, gemvQuant: gemvQuantSIMD, gemvQ8: gemvQ8Q8SIMD, gemvQ8Cached: gemvQ8Q8CachedSIMD, gemvQ8L: gemvQ8LSIMD, gemmQ40x8: gemmQ40x8SIMD, gemvQK: gemvQKSIMD, gemmQ4Kx8: gemmQ4Kx8SIMD, quantQ8: quantizeQ8SIMD, quantQ8K: quantizeQ8KSIMD}
		if hasAVX512VL() {
			k.name, k.gemmCached2, k.gemmQ6K = "avx512-int8-asm", gemmF32x2SIMD, gemmQ6KQ8Kx4SIMD
		}
		if hasVNNI() {
			k.name, k.gemmQ8x4 = "avx512vnni-int8-asm", gemmQ8Q8x4SIMD
			k.q8LaneSums, k.gemvQ8C = q8NegLaneSumsSIMD, gemvQ8Q8VNNISIMD
		}
		return k, true
	}
	return kernels{}, false
}

func simdUnavailable() string { return "this CPU lacks AVX2, FMA or F16C" }

// gemvQ8Q8AVX2 (kernels_amd64.s) multiplies rows Q8_0 weight rows of
// nblocks blocks with Q8_0 activations xq (int8) and xd (block scales) in
// integer instructions.
//
//go:noescape
func gemvQ8Q8AVX2(w, xq *byte, xd, y *float32, rows, nblocks int)

// gemvQ8Q8SIMD is gemvQ8Q8Portable in AVX2.
func gemvQ8Q8SIMD(w, qs []byte, ds, y []float32, rows, cols int) {
	nb := cols / 32
	rb := nb * 34
	if rows == 0 || nb == 0 {
		return
	}
	_ = w[rows*rb-1]
	_ = qs[nb*32-1]
	_ = ds[nb-1]
	_ = y[rows-1]
	gemvQ8Q8AVX2(unsafe.SliceData(w), unsafe.SliceData(qs), unsafe.SliceData(ds), unsafe.SliceData(y), rows, nb)
}

// argmaxAVX2 is implemented in kernels_amd64.s; n a positive multiple of 8.
//
//go:noescape
func argmaxAVX2(x *float32, n int) int

// argmaxSIMD is argmaxPortable with the AVX2 kernel for the 8-aligned
// prefix (the logits of a vocabulary: 32000 floats, about 4% of a
// stories15M Q8_0 token in the plain loop).
func argmaxSIMD(x []float32) int {
	n := len(x) &^ 7
	if n == 0 {
		return argmaxPortable(x)
	}
	best := argmaxAVX2(unsafe.SliceData(x), n)
	for i := n; i < len(x); i++ {
		if x[i] > x[best] {
			best = i
		}
	}
	return best
}

//go:noescape
func gemvQ8Q8x4AVX2(w, xq *byte, xd, y *float32, groups, nblocks int)

// gemvQ8Q8CachedSIMD is gemvQ8Q8SIMD for weight blocks already in cache:
// four rows at a time (see gemvSIMD for why not when streaming).
func gemvQ8Q8CachedSIMD(w, qs []byte, ds, y []float32, rows, cols int) {
	nb := cols / 32
	rb := nb * 34
	g := rows / 4
	if g > 0 && nb > 0 {
		_ = w[4*g*rb-1]
		_ = qs[nb*32-1]
		_ = ds[nb-1]
		_ = y[4*g-1]
		gemvQ8Q8x4AVX2(unsafe.SliceData(w), unsafe.SliceData(qs), unsafe.SliceData(ds), unsafe.SliceData(y), g, nb)
	}
	if r := 4 * g; r < rows {
		gemvQ8Q8SIMD(w[r*rb:], qs, ds, y[r:], rows-r, cols)
	}
}

// gemvQ4KQ8KAVX2 and gemvQ6KQ8KAVX2 (q8kdot_amd64.s) multiply rows Q4_K or
// Q6_K weight rows of nblocks super-blocks with Q8_K activations xq
// (int8), xd (super-block scales) and xb (16-value sums) in integer
// instructions, in the float order of dotQ4KQ8K and dotQ6KQ8K.
//
//go:noescape
func gemvQ4KQ8KAVX2(w, xq *byte, xd *float32, xb *int16, y *float32, rows, nblocks int)

//go:noescape
func gemvQ6KQ8KAVX2(w, xq *byte, xd *float32, xb *int16, y *float32, rows, nblocks int)

// gemvQ4KQ8KRAVX2 is gemvQ4KQ8KAVX2 in the float order of
// dotQ4KQ8KRepack (perSub 0 or 1).
//
//go:noescape
func gemvQ4KQ8KRAVX2(w, xq *byte, xd *float32, xb *int16, y *float32, rows, nblocks, perSub int)

// gemvQ5KQ8KAVX2 is gemvQ4KQ8KAVX2 for Q5_K rows, in the order of
// dotQ5KQ8K.
//
//go:noescape
func gemvQ5KQ8KAVX2(w, xq *byte, xd *float32, xb *int16, y *float32, rows, nblocks int)

// gemvQ2KQ8KAVX2 and gemvQ3KQ8KAVX2 are gemvQ4KQ8KAVX2 for Q2_K and Q3_K
// rows, in the order of dotQ2KQ8K and dotQ3KQ8K.
//
//go:noescape
func gemvQ2KQ8KAVX2(w, xq *byte, xd *float32, xb *int16, y *float32, rows, nblocks int)

//go:noescape
func gemvQ3KQ8KAVX2(w, xq *byte, xd *float32, xb *int16, y *float32, rows, nblocks int)

// gemvQKSIMD is gemvQKPortable in AVX2.
func gemvQKSIMD(t GGMLType, order int, w, qs []byte, ds []float32, bs []int16, y []float32, rows, cols int) bool {
	if !intK(t) || cols%qkK != 0 {
		return false
	}
	nb := cols / qkK
	if rows == 0 || nb == 0 {
		return true
	}
	rb := t.rowBytes(cols)
	_ = w[rows*rb-1]
	_ = qs[nb*qkK-1]
	_ = ds[nb-1]
	_ = bs[nb*16-1]
	_ = y[rows-1]
	pw, pq, pd, pb, py := unsafe.SliceData(w), unsafe.SliceData(qs), unsafe.SliceData(ds), unsafe.SliceData(bs), unsafe.SliceData(y)
	switch {
	case t == TypeQ6_K:
		gemvQ6KQ8KAVX2(pw, pq, pd, pb, py, rows, nb)
	case t == TypeQ5_K:
		gemvQ5KQ8KAVX2(pw, pq, pd, pb, py, rows, nb)
	case t == TypeQ3_K:
		gemvQ3KQ8KAVX2(pw, pq, pd, pb, py, rows, nb)
	case t == TypeQ2_K:
		gemvQ2KQ8KAVX2(pw, pq, pd, pb, py, rows, nb)
	case order == qkOrderLanes:
		gemvQ4KQ8KAVX2(pw, pq, pd, pb, py, rows, nb)
	case order == qkOrderSub:
		gemvQ4KQ8KRAVX2(pw, pq, pd, pb, py, rows, nb, 1)
	default:
		gemvQ4KQ8KRAVX2(pw, pq, pd, pb, py, rows, nb, 0)
	}
	return true
}

// gemvQ50Q8AVX2 (q4dot_amd64.s) multiplies rows Q5_0 weight rows of
// nblocks blocks with Q8_0 activations xq (int8) and xd (block scales) in
// integer instructions, in the float order of dotQ50Q8.
//
//go:noescape
func gemvQ50Q8AVX2(w, xq *byte, xd, y *float32, rows, nblocks int)

// gemvQx1Q8AVX2 (q4dot_amd64.s) multiplies Q4_1 (fifth = 0) or Q5_1
// (fifth = 1) rows with Q8_1 activations (xq, xd and the sums xs), in
// the float order of dotQ41Q8 and dotQ51Q8.
//
//go:noescape
func gemvQx1Q8AVX2(w, xq *byte, xd, xs, y *float32, rows, nblocks, fifth int)

// gemvQ8LSIMD is gemvQ8LPortable in AVX2.
// Q4_0 has no row kernel here: its integer path is the repacked one
// (gemmQ40x8), and its matrices that are not repacked stay on the float
// path (useQ8).
func gemvQ8LSIMD(t GGMLType, w, qs []byte, ds, ss, y []float32, rows, cols int) bool {
	if !intQ8(t) || t == TypeQ4_0 || cols%32 != 0 {
		return false
	}
	nb := cols / 32
	if rows == 0 || nb == 0 {
		return true
	}
	rb := t.rowBytes(cols)
	_ = w[rows*rb-1]
	_ = qs[nb*32-1]
	_ = ds[nb-1]
	_ = y[rows-1]
	pw, pq, pd, py := unsafe.SliceData(w), unsafe.SliceData(qs), unsafe.SliceData(ds), unsafe.SliceData(y)
	switch t {
	case TypeQ5_0:
		gemvQ50Q8AVX2(pw, pq, pd, py, rows, nb)
	case TypeQ4_1, TypeQ5_1:
		_ = ss[nb-1]
		fifth := 0
		if t == TypeQ5_1 {
			fifth = 1
		}
		gemvQx1Q8AVX2(pw, pq, pd, unsafe.SliceData(ss), py, rows, nb, fifth)
	}
	return true
}

// gemvQ40x8AVX2 (q4dot_amd64.s) multiplies groups×8 rows of a Q4_0
// matrix repacked as block_q4_0x8 with Q8_0 activations (xq, xd, and
// their block sums xs) in integer instructions, in the float order of
// dotQ40Q8.
//
//go:noescape
func gemvQ40x8AVX2(w, xq *byte, xd *float32, xs *int32, y *float32, groups, nblocks int)

// gemmQ40x8VNNI and gemvQ40x8VNNI (q4dot_amd64.s) are gemmQ40x8AVX2 and
// gemvQ40x8AVX2 with VPDPBUSD (AVX512_VNNI on Y registers), the same
// integers and float operations.
//
//go:noescape
func gemmQ40x8VNNI(w, xq *byte, xd *float32, xs *int32, y *float32, groups, nblocks, ystride int)

//go:noescape
func gemvQ40x8VNNI(w, xq *byte, xd *float32, xs *int32, y *float32, groups, nblocks int)

// q40VNNI selects the VNNI variants of the repacked Q4_0 kernels (where
// the CPU has them; tests switch it off to check the AVX2 ones too).
var q40VNNI = hasVNNI()

// gemvQ40x8SIMD is gemvQ40x8Portable in AVX2 (xs: q8BlockSums of qs).
func gemvQ40x8SIMD(w, qs []byte, ds []float32, xs []int32, y []float32, rows, cols int) {
	nb := cols / 32
	if rows < 8 || nb == 0 {
		return
	}
	g := rows / 8
	_ = w[g*nb*q40x8Block-1]
	_ = qs[nb*32-1]
	_ = ds[nb-1]
	_ = xs[nb-1]
	_ = y[8*g-1]
	gemv := gemvQ40x8AVX2
	if q40VNNI {
		gemv = gemvQ40x8VNNI
	}
	gemv(unsafe.SliceData(w), unsafe.SliceData(qs), unsafe.SliceData(ds), unsafe.SliceData(xs), unsafe.SliceData(y), g, nb)
}

// gemmQ40x8AVX2 (q4dot_amd64.s) is gemvQ40x8AVX2 for four activation rows
// (consecutive, nblocks blocks each) at once, row a's results at
// y+ystride·a.
//
//go:noescape
func gemmQ40x8AVX2(w, xq *byte, xd *float32, xs *int32, y *float32, groups, nblocks, ystride int)

// gemmQ40x8SIMD is gemvQ40x8SIMD for n activation rows (consecutive in
// qs, ds, xs; row b's results at y[b·ystride:]), four at a time.
func gemmQ40x8SIMD(w, qs []byte, ds []float32, xs []int32, y []float32, n, ystride, rows, cols int) {
	nb := cols / 32
	if rows < 8 || nb == 0 {
		return
	}
	g := rows / 8
	_ = w[g*nb*q40x8Block-1]
	gemm := gemmQ40x8AVX2
	if q40VNNI {
		gemm = gemmQ40x8VNNI
	}
	b := 0
	for ; b+4 <= n; b += 4 {
		_ = qs[(b+4)*nb*32-1]
		_ = ds[(b+4)*nb-1]
		_ = xs[(b+4)*nb-1]
		_ = y[(b+3)*ystride+8*g-1]
		gemm(unsafe.SliceData(w), &qs[b*nb*32], &ds[b*nb], &xs[b*nb], &y[b*ystride], g, nb, ystride)
	}
	for ; b < n; b++ {
		gemvQ40x8SIMD(w, qs[b*nb*32:], ds[b*nb:], xs[b*nb:], y[b*ystride:], rows, cols)
	}
}
