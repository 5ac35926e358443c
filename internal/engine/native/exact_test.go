package native

import (
	"encoding/binary"
	"math"
	"math/rand"
	"os"
	"testing"
)

// goldenForward reads testdata/ggml-forward-golden.bin
// (bench/native/gen-forward-golden.sh): records of kind, n and float32
// arrays computed by glibc and by llama.cpp's own CPU backend.
func goldenForward(t *testing.T) (recs []struct {
	kind int
	f    [][]float32
}) {
	t.Helper()
	b, err := os.ReadFile("testdata/ggml-forward-golden.bin")
	if err != nil {
		t.Fatal(err)
	}
	arrays := map[int]func(n int) []int{
		1: func(n int) []int { return []int{n, n, n} },                 // x, sinf, cosf
		2: func(n int) []int { return []int{n, n, 1} },                 // x, y, dot
		3: func(n int) []int { return []int{n, n} },                    // row, softmax
		4: func(n int) []int { return []int{n, n, n} },                 // x, g, swiglu
		5: func(n int) []int { return []int{(n/32*34 + 3) / 4, n, 1} }, // Q8_0 row, x, dot
	}
	for len(b) > 0 {
		kind, n := int(binary.LittleEndian.Uint32(b)), int(binary.LittleEndian.Uint32(b[4:]))
		b = b[8:]
		var f [][]float32
		for _, m := range arrays[kind](n) {
			a := make([]float32, m)
			for i := range a {
				a[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			}
			b = b[4*m:]
			f = append(f, a)
		}
		recs = append(recs, struct {
			kind int
			f    [][]float32
		}{kind, f})
	}
	return recs
}

func sameBits(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }

// TestForwardOpsMatchGGML pins the forward pass's own arithmetic, portable
// and SIMD, bit for bit to glibc's sinf/cosf and to llama.cpp's
// ggml_vec_dot_f32 (attention scores), softmax and SwiGLU on fixed inputs,
// and the Q8_0 kernels to ggml_vec_dot_q8_0_q8_0.
func TestForwardOpsMatchGGML(t *testing.T) {
	sets := []kernels{{name: "portable", scores: attnScoresPortable, softmax: softmaxPortable, swiglu: swigluPortable}}
	if simd, ok := simdKernels(); ok {
		sets = append(sets, simd)
	}
	counts := map[int]int{}
	for _, r := range goldenForward(t) {
		counts[r.kind]++
		switch r.kind {
		case 1:
			for i, x := range r.f[0] {
				if s, c := sinf(x), cosf(x); !sameBits(s, r.f[1][i]) || !sameBits(c, r.f[2][i]) {
					t.Fatalf("x=%g (%#x): sinf %g cosf %g, glibc %g %g", x, math.Float32bits(x), s, c, r.f[1][i], r.f[2][i])
				}
			}
		case 2:
			for _, k := range sets {
				var got [1]float32
				k.scores(r.f[0], r.f[1], 0, 1, got[:])
				if !sameBits(got[0], r.f[2][0]) {
					t.Fatalf("%s: dot of %d = %g, ggml_vec_dot_f32 %g", k.name, len(r.f[0]), got[0], r.f[2][0])
				}
			}
		case 3:
			for _, k := range sets {
				row := append([]float32(nil), r.f[0]...)
				k.softmax(row)
				for i := range row {
					if !sameBits(row[i], r.f[1][i]) {
						t.Fatalf("%s: softmax of %d [%d] = %g, ggml %g", k.name, len(row), i, row[i], r.f[1][i])
					}
				}
			}
		case 4:
			for _, k := range sets {
				g := append([]float32(nil), r.f[0]...)
				k.swiglu(g, r.f[1])
				for i := range g {
					if !sameBits(g[i], r.f[2][i]) {
						t.Fatalf("%s: swiglu(%g, %g) = %g, ggml %g", k.name, r.f[0][i], r.f[1][i], g[i], r.f[2][i])
					}
				}
			}
		case 5:
			n := len(r.f[1])
			w := make([]byte, 4*len(r.f[0]))
			for i, f := range r.f[0] {
				binary.LittleEndian.PutUint32(w[4*i:], math.Float32bits(f))
			}
			w = w[:n/32*34]
			qs, ds := make([]byte, n), make([]float32, n/32)
			quantizeQ8Acts(r.f[1], qs, ds)
			gemvs := map[string]func(w, qs []byte, ds, y []float32, rows, cols int){"portable": gemvQ8Q8Portable}
			if simd, ok := simdKernels(); ok {
				gemvs["simd"], gemvs["simd cached"] = simd.gemvQ8, simd.gemvQ8Cached
			}
			for name, gemv := range gemvs {
				// Four copies of the row, so that the cached kernel's
				// four-row path runs too.
				w4 := append(append(append(append([]byte(nil), w...), w...), w...), w...)
				var y [4]float32
				gemv(w4, qs, ds, y[:], 4, n)
				for _, v := range y {
					if !sameBits(v, r.f[2][0]) {
						t.Fatalf("%s: Q8_0 dot of %d = %g, ggml_vec_dot_q8_0_q8_0 %g", name, n, v, r.f[2][0])
					}
				}
			}
		}
	}
	if counts[1] == 0 || counts[2] == 0 || counts[3] == 0 || counts[4] == 0 || counts[5] == 0 {
		t.Fatalf("golden file incomplete: %v", counts)
	}
}

// TestExactKernelsAgree checks the SIMD attention, softmax and SwiGLU
// kernels against the portable ones bit for bit on random inputs,
// expf's overflow and underflow lanes included.
func TestExactKernelsAgree(t *testing.T) {
	simd, ok := simdKernels()
	if !ok {
		t.Skip("no SIMD kernels on this CPU")
	}
	rng := rand.New(rand.NewSource(3))
	for _, hd := range []int{8, 16, 40, 64, 128} {
		for _, n := range []int{1, 7, 8, 9, 31, 32, 33, 100, 257} {
			stride := 2*hd + 8
			q, kv := make([]float32, hd), make([]float32, n*stride+5)
			for i := range q {
				q[i] = float32(rng.NormFloat64())
			}
			for i := range kv {
				kv[i] = float32(rng.NormFloat64())
			}
			a, b := make([]float32, n), make([]float32, n)
			attnScoresPortable(q, kv[5:], stride, 0.3, a)
			simd.scores(q, kv[5:], stride, 0.3, b)
			for p := range a {
				if !sameBits(a[p], b[p]) {
					t.Fatalf("scores hd %d n %d [%d]: portable %g simd %g", hd, n, p, a[p], b[p])
				}
			}
			pa, pb := make([]float32, padScores(n)), make([]float32, padScores(n))
			for p := range pa {
				pa[p] = float32(math.Inf(-1))
				if p < n {
					pa[p] = a[p] * float32(1+rng.Intn(40)) // spreads past expf's |n| > 126
				}
			}
			copy(pb, pa)
			softmaxPortable(pa)
			simd.softmax(pb)
			for p := range pa {
				if !sameBits(pa[p], pb[p]) {
					t.Fatalf("softmax n %d [%d]: portable %g simd %g", n, p, pa[p], pb[p])
				}
			}
			for _, lanes := range []int{8, 32} {
				oa, ob := make([]float32, hd), make([]float32, hd)
				attnValuesPortable(pa[:n], kv[5:], stride, lanes, oa)
				simd.values(pa[:n], kv[5:], stride, lanes, ob)
				for j := range oa {
					if !sameBits(oa[j], ob[j]) {
						t.Fatalf("values lanes %d hd %d n %d [%d]: portable %g simd %g", lanes, hd, n, j, oa[j], ob[j])
					}
				}
				if lanes == 32 && n%32 == 0 {
					// ggml_vec_dot_f32 over the value column, as llama.cpp decodes.
					col := make([]float32, n)
					for j := range oa {
						for p := range col {
							col[p] = kv[5+p*stride+j]
						}
						if d := dotGGML(col, pa[:n]); !sameBits(d, oa[j]) {
							t.Fatalf("values lanes 32 n %d [%d]: %g, dotGGML %g", n, j, oa[j], d)
						}
					}
				}
			}
		}
	}
	for _, n := range []int{8, 13, 64, 203} {
		g, u := make([]float32, n), make([]float32, n)
		for i := range g {
			g[i] = float32(rng.NormFloat64() * 60)
			u[i] = float32(rng.NormFloat64())
		}
		ga := append([]float32(nil), g...)
		swigluPortable(ga, u)
		simd.swiglu(g, u)
		for i := range g {
			if !sameBits(g[i], ga[i]) {
				t.Fatalf("swiglu n %d [%d]: portable %g simd %g", n, i, ga[i], g[i])
			}
		}
	}
}

// TestFma32 checks fma32's single rounding where a float64 FMA rounded
// again to float32 would round twice.
func TestFma32(t *testing.T) {
	// a·b = 2^-24 − 2^-70, so a·b+c lies just below the float32 tie
	// 1 + 3·2^-24 and rounds down to c; rounded to float64 first, it is the
	// tie and would round to even, 1 + 2^-22.
	a, b, c := float32(1+0x1p-23), float32(0x1p-24*(1-0x1p-23)), float32(1+0x1p-23)
	if got := fma32(a, b, c); got != c {
		t.Errorf("fma32 = %x, want %x", math.Float32bits(got), math.Float32bits(c))
	}
	rng := rand.New(rand.NewSource(1))
	for range 100000 {
		a, b, c := float32(rng.NormFloat64()), float32(rng.NormFloat64()), float32(rng.NormFloat64())
		want := float32(math.FMA(float64(a), float64(b), float64(c)))
		if got := fma32(a, b, c); got != want && math.Abs(float64(got-want)) > math.Abs(float64(want))*0x1p-23 {
			t.Fatalf("fma32(%g, %g, %g) = %g, want about %g", a, b, c, got, want)
		}
	}
}
