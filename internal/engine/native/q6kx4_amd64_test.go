package native

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGemmQ6KAgree checks the four-activation-row Q6_K kernel against the
// row kernel (gemvQK, ggml's order) bit for bit, for several row and
// super-block counts, with a negative activation maximum, and that nothing
// past the rows is written.
func TestGemmQ6KAgree(t *testing.T) {
	simd, ok := simdKernels()
	if !ok || simd.gemmQ6K == nil {
		t.Skip("no Q6_K tile kernel on this CPU (needs AVX-512 VL)")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, nb := range []int{1, 3, 8} {
		cols := nb * qkK
		for _, rows := range []int{1, 3, 8, 9} {
			raw := randomKBlocks(rng, TypeQ6_K, rows, nb)
			x := make([]float32, 4*cols)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			x[cols+7] = -11 // a negative maximum in activation row 1
			qs, ds, bs := make([]byte, 4*cols), make([]float32, 4*nb), make([]int16, 4*cols/16)
			quantizeQ8KActs(x, qs, ds, bs)
			const pad = 2
			ystride := rows + pad
			got := make([]float32, 4*ystride)
			for i := range got {
				got[i] = -3
			}
			simd.gemmQ6K(raw, qs, ds, bs, got, rows, cols, ystride)
			for b := range 4 {
				want := make([]float32, rows)
				if !simd.gemvQK(TypeQ6_K, qkOrderLanes, raw, qs[b*cols:(b+1)*cols], ds[b*nb:(b+1)*nb], bs[b*cols/16:(b+1)*cols/16], want, rows, cols) {
					t.Fatal("row kernel refused Q6_K")
				}
				for r := range rows {
					if math.Float32bits(got[b*ystride+r]) != math.Float32bits(want[r]) {
						t.Fatalf("nb %d rows %d act %d row %d: row kernel %g, tile %g", nb, rows, b, r, want[r], got[b*ystride+r])
					}
				}
				for r := rows; r < ystride; r++ {
					if got[b*ystride+r] != -3 {
						t.Fatalf("nb %d rows %d act %d: wrote past the rows at %d", nb, rows, b, r)
					}
				}
			}
		}
	}
}
