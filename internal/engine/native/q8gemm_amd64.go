package native

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// gemmQ8Q8x4VNNI (q8gemm_amd64.s) multiplies groups×4 Q8_0 weight rows
// with four Q8_0 activation rows in a 4×4 register tile with VPDPBUSD.
//
//go:noescape
func gemmQ8Q8x4VNNI(w, xq *byte, xd, y *float32, groups, nblocks, ystride int)

// hasVNNI reports whether the AVX-512 VNNI tile kernel can run: VPDPBUSD
// on 256-bit registers needs AVX512VNNI and AVX512VL.
func hasVNNI() bool {
	return cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512VNNI
}

// gemmQ8Q8x4SIMD sets y[b·ystride + r] to Q8_0 weight row r times
// activation row b (quantised, qs holding four rows of cols values and ds
// their scales) for r < rows and b < 4, four weight rows at a time in the
// VNNI tile kernel and the rest by the row kernel, all in ggml's order.
func gemmQ8Q8x4SIMD(w, qs []byte, ds, y []float32, rows, cols, ystride int) {
	nb := cols / 32
	rb := nb * 34
	g := rows / 4
	if g > 0 && nb > 0 {
		_ = w[4*g*rb-1]
		_ = qs[4*cols-1]
		_ = ds[4*nb-1]
		_ = y[3*ystride+4*g-1]
		gemmQ8Q8x4VNNI(unsafe.SliceData(w), unsafe.SliceData(qs), unsafe.SliceData(ds), unsafe.SliceData(y), g, nb, ystride)
	}
	if r := 4 * g; r < rows {
		for b := range 4 {
			gemvQ8Q8CachedSIMD(w[r*rb:], qs[b*cols:(b+1)*cols], ds[b*nb:(b+1)*nb], y[b*ystride+r:], rows-r, cols)
		}
	}
}

// quantizeQ8AVX2 (quantize_amd64.s) is quantizeQ8ActsSums for nblocks
// blocks in AVX2; ss may be nil.
//
//go:noescape
func quantizeQ8AVX2(x *float32, qs *byte, ds, ss *float32, nblocks int)

// quantizeQ8SIMD is quantizeQ8ActsSums in AVX2, as ggml's AVX2
// quantize_row_q8_0 and quantize_row_q8_1.
func quantizeQ8SIMD(x []float32, qs []byte, ds, ss []float32) {
	nb := len(x) / 32
	if nb == 0 {
		return
	}
	_ = qs[nb*32-1]
	_ = ds[nb-1]
	var sp *float32
	if ss != nil {
		_ = ss[nb-1]
		sp = unsafe.SliceData(ss)
	}
	quantizeQ8AVX2(unsafe.SliceData(x), unsafe.SliceData(qs), unsafe.SliceData(ds), sp, nb)
}

// quantizeQ8KAVX2 (quantize_amd64.s) is quantizeQ8KActs for nblocks
// super-blocks in AVX2.
//
//go:noescape
func quantizeQ8KAVX2(x *float32, qs *byte, ds *float32, bs *int16, nblocks int)

// quantizeQ8KSIMD is quantizeQ8KActs in AVX2, bit for bit.
func quantizeQ8KSIMD(x []float32, qs []byte, ds []float32, bs []int16) {
	nb := len(x) / qkK
	if nb == 0 {
		return
	}
	_ = qs[nb*qkK-1]
	_ = ds[nb-1]
	_ = bs[nb*16-1]
	quantizeQ8KAVX2(unsafe.SliceData(x), unsafe.SliceData(qs), unsafe.SliceData(ds), unsafe.SliceData(bs), nb)
}

// q8NegLaneSums (q8gemm_amd64.s) sets the per-lane corrections
// gemvQ8Q8VNNI starts from.
//
//go:noescape
func q8NegLaneSums(xq *byte, xc *int32, nblocks int)

// gemvQ8Q8VNNI (q8gemm_amd64.s) is gemvQ8Q8AVX2 with VPDPBUSD.
//
//go:noescape
func gemvQ8Q8VNNI(w, xq *byte, xc *int32, xd, y *float32, rows, nblocks int)

// q8NegLaneSumsSIMD sets xc (8 per block of qs) for gemvQ8Q8VNNISIMD.
func q8NegLaneSumsSIMD(qs []byte, xc []int32) {
	nb := len(qs) / 32
	if nb == 0 {
		return
	}
	_ = xc[8*nb-1]
	q8NegLaneSums(unsafe.SliceData(qs), unsafe.SliceData(xc), nb)
}

// gemvQ8Q8VNNISIMD is gemvQ8Q8SIMD for activations with their lane
// corrections xc (q8NegLaneSumsSIMD), bit for bit.
func gemvQ8Q8VNNISIMD(w, qs []byte, xc []int32, ds, y []float32, rows, cols int) {
	nb := cols / 32
	if rows == 0 || nb == 0 {
		return
	}
	_ = w[rows*nb*34-1]
	_ = qs[nb*32-1]
	_ = xc[nb*8-1]
	_ = ds[nb-1]
	_ = y[rows-1]
	gemvQ8Q8VNNI(unsafe.SliceData(w), unsafe.SliceData(qs), unsafe.SliceData(xc), unsafe.SliceData(ds), unsafe.SliceData(y), rows, nb)
}
