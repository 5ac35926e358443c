package native

import "testing"

// TestGemmF32x2Agree checks the two-activation-row F32 tile kernel against
// gemvCachedSIMD bit for bit (the forward pass switches between them by
// batch position), for row counts with and without a remainder, column
// counts with and without an 8-column tail and a ragged one the kernel
// declines, and that nothing past the block's rows is written.
func TestGemmF32x2Agree(t *testing.T) {
	simd, ok := simdKernels()
	if !ok || simd.gemmCached2 == nil {
		t.Skip("no F32 tile kernel on this CPU (needs AVX-512 VL)")
	}
	for _, cols := range []int{8, 16, 24, 36, 288, 768} {
		for _, rows := range []int{1, 3, 4, 5, 8, 9} {
			w := make([]float32, rows*cols)
			x := make([]float32, 2*cols)
			synthTensor{name: "w", std: 1}.fillRow(1, cols, w)
			synthTensor{name: "x", std: 1}.fillRow(2, rows, x)
			const pad = 2
			ystride := rows + pad
			got := make([]float32, 2*ystride)
			for i := range got {
				got[i] = -7
			}
			simd.gemmCached2(w, x, got, rows, cols, ystride)
			for b := range 2 {
				want := make([]float32, rows)
				simd.gemvCached(w, x[b*cols:(b+1)*cols], want, rows, cols)
				for r := range rows {
					if got[b*ystride+r] != want[r] {
						t.Fatalf("rows %d cols %d act %d row %d: gemvCached %g tile %g", rows, cols, b, r, want[r], got[b*ystride+r])
					}
				}
				for r := rows; r < ystride; r++ {
					if got[b*ystride+r] != -7 {
						t.Fatalf("rows %d cols %d act %d: wrote past the rows at %d", rows, cols, b, r)
					}
				}
			}
		}
	}
}
