package native

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// gemmF32x2AVX512 (f32gemm_amd64.s) multiplies groups×4 F32 weight rows
// with two activation rows, gemvAVX2's order per activation row.
//
//go:noescape
func gemmF32x2AVX512(w, x, y *float32, groups, cols, ystride int)

// hasAVX512VL reports whether the F32 tile kernel can run: it keeps its
// accumulators in the upper sixteen vector registers.
func hasAVX512VL() bool { return cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL }

// gemmF32x2SIMD sets y[b·ystride + r] = dot(w row r, x row b) for r < rows
// and b < 2 (x holding two rows of cols floats), four weight rows at a time
// in the tile kernel and the rest as gemvCachedSIMD does, so each output
// equals gemvCachedSIMD's bit for bit.
func gemmF32x2SIMD(w, x, y []float32, rows, cols, ystride int) {
	g := rows / 4
	if cols%8 != 0 {
		g = 0
	}
	if g > 0 && cols > 0 {
		_ = w[4*g*cols-1]
		_ = x[2*cols-1]
		_ = y[ystride+4*g-1]
		gemmF32x2AVX512(unsafe.SliceData(w), unsafe.SliceData(x), unsafe.SliceData(y), g, cols, ystride)
	}
	if r := 4 * g; r < rows {
		for b := range 2 {
			gemvCachedSIMD(w[r*cols:], x[b*cols:(b+1)*cols], y[b*ystride+r:], rows-r, cols)
		}
	}
}
