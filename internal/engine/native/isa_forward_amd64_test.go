package native

import (
	"math"
	"testing"
)

// avx2Only is the SIMD kernel set as an AVX2-only CPU gets it: without the
// AVX-512 tile and VNNI kernels (the repacked Q4_0 kernels pick their
// variant through q40VNNI, which the caller switches).
func avx2Only(k kernels) kernels {
	k.gemmQ8x4, k.gemvQ8C, k.q8LaneSums, k.gemmCached2, k.gemmQ6K = nil, nil, nil, nil, nil
	return k
}

// TestAVX2SetMatchesFull runs a prefill of 9 tokens (two tiles of four and
// a row) and three decode steps of synthetic stories15M in F32, Q8_0 and
// Q4_0 with the full SIMD kernel set and with the AVX2-only set, and checks
// every logit is the same bit for bit: each AVX-512 kernel claims to add in
// its AVX2 counterpart's order, and CI's machines would never run the AVX2
// path otherwise.
func TestAVX2SetMatchesFull(t *testing.T) {
	full, ok := simdKernels()
	if !ok {
		t.Skip("no SIMD kernels on this CPU")
	}
	if full.gemmQ8x4 == nil && full.gemmCached2 == nil && !q40VNNI {
		t.Skip("this CPU runs the AVX2 set already")
	}
	for _, typ := range []GGMLType{TypeF32, TypeQ8_0, TypeQ4_0} {
		m, err := SynthModel("stories15M", 5, typ, 2)
		if err != nil {
			t.Fatal(err)
		}
		run := func(k kernels, vnni bool) [][]float32 {
			defer func(v bool) { q40VNNI = v }(q40VNNI)
			q40VNNI = vnni
			r := newRunner(m, k, 2)
			defer r.close()
			caches := []*kvCache{newKVCache(m.Shape, 32)}
			var steps []step
			for p := range 9 {
				steps = append(steps, step{pos: p, tok: 3 + 41*p, logits: true})
			}
			out := [][]float32{append([]float32(nil), r.forward(steps, caches)...)}
			for p := 9; p < 12; p++ {
				out = append(out, append([]float32(nil), r.forward([]step{{pos: p, tok: 7 * p, logits: true}}, caches)...))
			}
			return out
		}
		want, got := run(full, q40VNNI), run(avx2Only(full), false)
		for s := range want {
			for j := range want[s] {
				if math.Float32bits(want[s][j]) != math.Float32bits(got[s][j]) {
					t.Fatalf("%v step %d logit %d: full set %g, AVX2 set %g", typ, s, j, want[s][j], got[s][j])
				}
			}
		}
	}
}
