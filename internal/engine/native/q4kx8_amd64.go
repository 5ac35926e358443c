package native

import "unsafe"

// gemvQ4Kx8AVX2 (q4kx8_amd64.s) sets y[r] to the dot product of row r of
// the repacked Q4_K matrix at w (8·groups rows of nblocks super-blocks,
// repackQ4Kx8) with the Q8_K activation row xq, xd, xb, as
// gemvQ4Kx8Portable computes it (perSub ≠ 0: qkOrderSub, else
// qkOrderBlock): the eight rows of a group in the eight lanes.
//
//go:noescape
func gemvQ4Kx8AVX2(w, xq *byte, xd *float32, xb *int16, y *float32, groups, nblocks, perSub int)

// gemmQ4Kx8SIMD is gemmQ4Kx8Portable with gemvQ4Kx8AVX2, one activation
// row at a time.
func gemmQ4Kx8SIMD(perSub bool, w, qs []byte, ds []float32, bs []int16, y []float32, rows, cols, nact, ystride int) {
	nb := cols / qkK
	if rows == 0 || nb == 0 {
		return
	}
	if rows%8 != 0 {
		panic("gemmQ4Kx8: rows not a multiple of 8")
	}
	_ = w[rows*nb*144-1]
	_ = qs[nact*nb*qkK-1]
	_ = ds[nact*nb-1]
	_ = bs[nact*nb*16-1]
	_ = y[(nact-1)*ystride+rows-1]
	ps := 0
	if perSub {
		ps = 1
	}
	for a := range nact {
		o := a * nb
		gemvQ4Kx8AVX2(unsafe.SliceData(w), &qs[o*qkK], &ds[o], &bs[o*16], &y[a*ystride], rows/8, nb, ps)
	}
}
