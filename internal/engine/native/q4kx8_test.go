package native

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGemmQ4Kx8Agree checks the kernels over the repacked Q4_K layout
// (repackQ4Kx8): the portable gemmQ4Kx8Portable on every CPU, and the
// SIMD gemmQ4Kx8 where there is one, bit for bit against the row kernels
// over the raw rows (gemvQKPortable, and the SIMD gemvQK) in
// both repacked orders, on random weights and activations of several
// shapes, writing nothing outside their outputs.
func TestGemmQ4Kx8Agree(t *testing.T) {
	simd, ok := simdKernels()
	rng := rand.New(rand.NewPCG(9, 10))
	for _, nb := range []int{1, 2, 3, 8, 11} {
		cols := nb * qkK
		for _, rows := range []int{8, 16, 40} {
			raw := randomKBlocks(rng, TypeQ4_K, rows, nb)
			x8 := repackQ4Kx8(raw, rows, cols)
			if len(x8) != len(raw) {
				t.Fatalf("repacked %d bytes, raw %d", len(x8), len(raw))
			}
			for _, nact := range []int{1, 4} {
				qs, ds, bs := randomQ8KActs(rng, nact, nb)
				ystride := rows + 3
				for _, order := range []int{qkOrderBlock, qkOrderSub} {
					type impl struct {
						name string
						f    func(perSub bool, w, qs []byte, ds []float32, bs []int16, y []float32, rows, cols, nact, ystride int)
					}
					impls := []impl{{"gemmQ4Kx8Portable", gemmQ4Kx8Portable}}
					if ok && simd.gemmQ4Kx8 != nil {
						impls = append(impls, impl{"gemmQ4Kx8", simd.gemmQ4Kx8})
					}
					for _, im := range impls {
						y := make([]float32, nact*ystride)
						for i := range y {
							y[i] = -1234.5
						}
						im.f(order == qkOrderSub, x8, qs, ds, bs, y, rows, cols, nact, ystride)
						for a := range nact {
							aq, ad, ab := qs[a*cols:(a+1)*cols], ds[a*nb:(a+1)*nb], bs[a*nb*16:(a+1)*nb*16]
							want := make([]float32, rows)
							gemvQKPortable(TypeQ4_K, order, raw, aq, ad, ab, want, rows, cols)
							row := want
							if ok && simd.gemvQK != nil {
								row = make([]float32, rows)
								simd.gemvQK(TypeQ4_K, order, raw, aq, ad, ab, row, rows, cols)
							}
							for r := range rows {
								got := y[a*ystride+r]
								if math.Float32bits(got) != math.Float32bits(want[r]) || math.Float32bits(got) != math.Float32bits(row[r]) {
									t.Errorf("%s order %d nb %d rows %d nact %d act %d row %d: %g, portable %g, row kernel %g", im.name, order, nb, rows, nact, a, r, got, want[r], row[r])
								}
							}
							for i := rows; i < ystride; i++ {
								if y[a*ystride+i] != -1234.5 {
									t.Errorf("%s order %d nb %d rows %d nact %d: wrote y[%d]", im.name, order, nb, rows, nact, a*ystride+i)
								}
							}
						}
					}
				}
			}
		}
	}
}

// randomQ8KActs quantises nact random activation rows of nb super-blocks
// to Q8_K (row by row, as the forward pass does); with nb 3 the first row
// has a negative maximum, so a positive d.
func randomQ8KActs(rng *rand.Rand, nact, nb int) ([]byte, []float32, []int16) {
	cols := nb * qkK
	x := make([]float32, nact*cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	if nb == 3 {
		x[7] = -11
	}
	qs, ds, bs := make([]byte, len(x)), make([]float32, len(x)/qkK), make([]int16, len(x)/16)
	for a := range nact {
		quantizeQ8KActs(x[a*cols:(a+1)*cols], qs[a*cols:(a+1)*cols], ds[a*nb:(a+1)*nb], bs[a*nb*16:(a+1)*nb*16])
	}
	return qs, ds, bs
}
