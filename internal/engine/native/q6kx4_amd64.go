package native

import "unsafe"

// gemmQ6KQ8Kx4AVX512 (q8kdot_amd64.s) multiplies Q6_K weight rows with four
// Q8_K activation rows, each chunk unpacked once for the four.
//
//go:noescape
func gemmQ6KQ8Kx4AVX512(w, xq *byte, xd *float32, xb *int16, y *float32, rows, nblocks, ystride int)

// gemmQ6KQ8Kx4SIMD sets y[b·ystride + r] to Q6_K weight row r times Q8_K
// activation row b (qs, ds, bs holding four rows of cols values) for r <
// rows and b < 4, bit for bit as gemvQKSIMD per activation row.
func gemmQ6KQ8Kx4SIMD(w, qs []byte, ds []float32, bs []int16, y []float32, rows, cols, ystride int) {
	nb := cols / qkK
	if rows == 0 || nb == 0 {
		return
	}
	_ = w[rows*nb*210-1]
	_ = qs[4*cols-1]
	_ = ds[4*nb-1]
	_ = bs[4*nb*16-1]
	_ = y[3*ystride+rows-1]
	gemmQ6KQ8Kx4AVX512(unsafe.SliceData(w), unsafe.SliceData(qs), unsafe.SliceData(ds), unsafe.SliceData(bs), unsafe.SliceData(y), rows, nb, ystride)
}
