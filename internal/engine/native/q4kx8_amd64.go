package native

import "unsafe"

// gemvQ4KQ8Kx8AVX2 (q4kx8_amd64.s) is gemvQ4KQ8KRAVX2 for 8·groups rows,
// eight rows per pass sharing each activation load; the same results bit
// for bit.
//
//go:noescape
func gemvQ4KQ8Kx8AVX2(w, xq *byte, xd *float32, xb *int16, y *float32, groups, nblocks, perSub int)

// gemmQ4KQ8Kx4AVX2 (q4kx8_amd64.s) is gemvQ4KQ8KRAVX2 for four activation
// rows at once (xq, xd, xb: four rows of nblocks blocks; output row b at
// y[b·ystride:]), each weight step unpacked once for the four; the same
// results bit for bit.
//
//go:noescape
func gemmQ4KQ8Kx4AVX2(w, xq *byte, xd *float32, xb *int16, y *float32, rows, nblocks, ystride, perSub int)

// gemmQ4KSIMD sets y[b·ystride + r] to Q4_K weight row r times Q8_K
// activation row b in the repacked float order (dotQ4KQ8KRepack, perSub
// for all of them) for r < rows and b < nact (1 or 4; qs, ds and bs hold
// nact rows of cols values): one activation row eight weight rows at a
// time, four activation rows one weight row at a time.
func gemmQ4KSIMD(perSub bool, w, qs []byte, ds []float32, bs []int16, y []float32, rows, cols, nact, ystride int) {
	nb := cols / qkK
	if rows == 0 || nb == 0 {
		return
	}
	rb := nb * 144
	ps := q4kArgs(perSub, w, qs, ds, bs, y, rows, nb, nact, ystride)
	pq, pd, pb := unsafe.SliceData(qs), unsafe.SliceData(ds), unsafe.SliceData(bs)
	if nact == 4 {
		gemmQ4KQ8Kx4AVX2(unsafe.SliceData(w), pq, pd, pb, unsafe.SliceData(y), rows, nb, ystride, ps)
		return
	}
	for a := range nact {
		o := a * nb
		g := rows / 8
		if g > 0 {
			gemvQ4KQ8Kx8AVX2(unsafe.SliceData(w), &qs[o*qkK], &ds[o], &bs[o*16], &y[a*ystride], g, nb, ps)
		}
		if r := 8 * g; r < rows {
			gemvQ4KQ8KRAVX2(&w[r*rb], &qs[o*qkK], &ds[o], &bs[o*16], &y[a*ystride+r], rows-r, nb, ps)
		}
	}
}

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
	ps := q4kArgs(perSub, w, qs, ds, bs, y, rows, nb, nact, ystride)
	for a := range nact {
		o := a * nb
		gemvQ4Kx8AVX2(unsafe.SliceData(w), &qs[o*qkK], &ds[o], &bs[o*16], &y[a*ystride], rows/8, nb, ps)
	}
}

// q4kArgs checks the Q4_K kernels' slices against rows weight rows of nb
// super-blocks and nact activation rows (the assembly reads them
// unchecked) and returns perSub as the kernels' int flag.
func q4kArgs(perSub bool, w, qs []byte, ds []float32, bs []int16, y []float32, rows, nb, nact, ystride int) int {
	_ = w[rows*nb*144-1]
	_ = qs[nact*nb*qkK-1]
	_ = ds[nact*nb-1]
	_ = bs[nact*nb*16-1]
	_ = y[(nact-1)*ystride+rows-1]
	if perSub {
		return 1
	}
	return 0
}
