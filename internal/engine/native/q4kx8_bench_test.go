package native

import (
	"math/rand/v2"
	"testing"
)

// benchQ4K times rows×cols Q4_K products in the repacked block order,
// gemmQ4Kx8 over repacked copies (x8) or the row kernel gemvQK over the
// file's rows, for nact activation rows, over
// 64 matrices (about 56 MiB at 768×2048: from memory, as in decode).
func benchQ4K(b *testing.B, rows, cols int, x8 bool, nact int) {
	simd, ok := simdKernels()
	if !ok || simd.gemmQ4Kx8 == nil {
		b.Skip("no gemmQ4Kx8 on this CPU")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	nb := cols / qkK
	const mats = 64
	raws := make([][]byte, mats)
	for i := range raws {
		raws[i] = randomKBlocks(rng, TypeQ4_K, rows, nb)
		if x8 {
			raws[i] = repackQ4Kx8(raws[i], rows, cols)
		}
	}
	x := make([]float32, nact*cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	qs, ds, bs := make([]byte, len(x)), make([]float32, len(x)/qkK), make([]int16, len(x)/16)
	for a := range nact {
		quantizeQ8KActs(x[a*cols:(a+1)*cols], qs[a*cols:(a+1)*cols], ds[a*nb:(a+1)*nb], bs[a*nb*16:(a+1)*nb*16])
	}
	y := make([]float32, nact*rows)
	b.SetBytes(int64(len(raws[0])))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		raw := raws[i%mats]
		if x8 {
			simd.gemmQ4Kx8(false, raw, qs, ds, bs, y, rows, cols, nact, rows)
		} else {
			for a := range nact {
				simd.gemvQK(TypeQ4_K, qkOrderBlock, raw, qs[a*cols:], ds[a*nb:], bs[a*nb*16:], y[a*rows:], rows, cols)
			}
		}
	}
}

func BenchmarkQ4KRow768(b *testing.B)    { benchQ4K(b, 2048, 768, false, 1) }
func BenchmarkQ4KX8768(b *testing.B)     { benchQ4K(b, 2048, 768, true, 1) }
func BenchmarkQ4KRow2048(b *testing.B)   { benchQ4K(b, 768, 2048, false, 1) }
func BenchmarkQ4KX82048(b *testing.B)    { benchQ4K(b, 768, 2048, true, 1) }
func BenchmarkQ4KRow768x4(b *testing.B)  { benchQ4K(b, 2048, 768, false, 4) }
func BenchmarkQ4KGemm768x4(b *testing.B) { benchQ4K(b, 2048, 768, true, 4) }
