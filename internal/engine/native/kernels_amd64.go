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

// gemvAVX2 is implemented in kernels_amd64.s; cols%8 == 0.
//
//go:noescape
func gemvAVX2(w, x, y *float32, rows, cols int)

func gemvSIMD(w, x, y []float32, rows, cols int) {
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

func simdKernels() (kernels, bool) {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		return kernels{name: "avx2-fma-asm", dot: dotSIMD, gemv: gemvSIMD}, true
	}
	return kernels{}, false
}

func simdUnavailable() string { return "this CPU lacks AVX2 and FMA" }
