package native

import (
	"math"
	"testing"
)

// ggmlLegacyDots holds what ggml's kernels (llama.cpp's AVX2 build)
// returned as float32 bits for the inputs ggmlLegacyInputs regenerates:
// activation row a, weight row r at index 8a+r. Q4_0: the rows repacked
// as q4_0_8x8, quantize_row_q8_0 then ggml_gemv_q4_0_8x8_q8_0 per
// activation row (and, identically, ggml_quantize_mat_q8_0_4x8 then
// ggml_gemm_q4_0_8x8_q8_0 for the four rows together). Q5_0:
// quantize_row_q8_0 then ggml_vec_dot_q5_0_q8_0. Q4_1, Q5_1:
// quantize_row_q8_1 then ggml_vec_dot_q4_1_q8_1, ggml_vec_dot_q5_1_q8_1.
var ggmlLegacyDots = []struct {
	typ  GGMLType
	bits []uint32
}{
	{TypeQ4_0, []uint32{
		0xc1d9f291, 0x41c74a09, 0xc0d4f9ad, 0xc0e9b239, 0x401bbc6a, 0x41910e04, 0x40a45706, 0xc060b36f,
		0xc100177a, 0xc1f82793, 0x421d22ea, 0x41945f07, 0xc0f96881, 0x401f89ae, 0x41b52657, 0x41dfb153,
		0xc08e8097, 0xc2087705, 0x40e755e5, 0x400474a6, 0xc197db74, 0x41d1decc, 0x3eca0e76, 0x3dcb874e,
		0xc1a27a73, 0xc1b6f032, 0xbfff3775, 0x40029b20, 0x417bfb4a, 0xc12e44e5, 0x4122452e, 0x404a0c2e,
	}},
	{TypeQ5_0, []uint32{
		0xc1ebe24b, 0x41c1661a, 0xc0e43a96, 0xc0ed62a3, 0x40372ba9, 0x41a6ea23, 0x40b9027b, 0xc082dd1e,
		0xc0f69d4f, 0xc1f538f0, 0x42164edf, 0x4190e8ae, 0xc1056bdb, 0x3f85b25c, 0x41c41496, 0x41ea8ff6,
		0xc0573dc2, 0xc2079ef8, 0x410e8eb4, 0x40886274, 0xc18a9f77, 0x41bb8040, 0x40084c86, 0x3fd07290,
		0xc1a0454b, 0xc1b5519a, 0xbfd31968, 0x3efdb190, 0x415d9376, 0xc1253de7, 0x413559fe, 0x408d0e66,
	}},
	{TypeQ4_1, []uint32{
		0xc1ef3114, 0x41cc400c, 0xc0f5f148, 0xc107dc8a, 0x3f3fcd40, 0x41b47575, 0x40c2a910, 0xc05c9e60,
		0xc1156a8c, 0xc1f0f301, 0x420c6278, 0x41891a62, 0xc0e2dee0, 0x3fe7f310, 0x41bac238, 0x41f7be76,
		0xc0392fd0, 0xc20c20a9, 0x411c3558, 0x40804c18, 0xc197b70e, 0x41d2221c, 0x3f9cc1c0, 0x3f34d0a0,
		0xc19d7c04, 0xc1a9a8fc, 0xbf0ed140, 0x3fce8320, 0x415bfc46, 0xc100ad14, 0x417e7704, 0x4086c274,
	}},
	{TypeQ5_1, []uint32{
		0xc1e560c8, 0x41bf3994, 0xc0b1cf70, 0xc0efd39c, 0x406386b8, 0x41a6eb8e, 0x40b2dab4, 0xc0b26638,
		0xc1038636, 0xc1f36ed9, 0x42189bc2, 0x419bb2e4, 0xc0cee8d0, 0x3f2eeea0, 0x41bc7024, 0x41e68b66,
		0xc0941598, 0xc2091684, 0x41279474, 0x40684fe8, 0xc183b3ce, 0x41c42448, 0x40445ba0, 0x4002caa0,
		0xc19f9562, 0xc1acbe2c, 0xbf572540, 0x3fb39580, 0x4160ec9e, 0xc11a3838, 0x414b0c1c, 0x409fca2c,
	}},
}

// ggmlLegacyInputs regenerates the inputs of ggmlLegacyDots: eight weight
// rows of type t and four activation rows of 256 values (one activation
// per row an outlier, so that some quantise to ±127).
func ggmlLegacyInputs(t GGMLType) (w []byte, x []float32) {
	const rows, cols = 8, 256
	wf := make([]float32, rows*cols)
	synthTensor{name: "ggml-q40-w", std: 1}.fillRow(3, cols, wf)
	x = make([]float32, 4*cols)
	synthTensor{name: "ggml-q40-x", std: 1}.fillRow(4, cols, x)
	for a := range 4 {
		x[a*cols+17*a+5] = 12
	}
	return quantRow(t, wf, nil), x
}

// TestLegacyMatchesGGML checks the integer Q4_0, Q5_0, Q4_1 and Q5_1
// kernels (and the Q8_1 sums), portable and AVX2 (Q4_0's repacked ones
// with VNNI too), bit for bit against ggml's.
func TestLegacyMatchesGGML(t *testing.T) {
	const cols = 256
	simd, ok := simdKernels()
	for _, c := range ggmlLegacyDots {
		w, x := ggmlLegacyInputs(c.typ)
		for a := range 4 {
			qs, ds, ss := make([]byte, cols), make([]float32, cols/32), make([]float32, cols/32)
			quantizeQ8ActsSums(x[a*cols:(a+1)*cols], qs, ds, ss)
			got := make([]float32, 8)
			gemvQ8LPortable(c.typ, w, qs, ds, ss, got, 8, cols)
			// The SIMD row kernel; Q4_0 has the repacked ones instead (below).
			var gotSIMD []float32
			if ok && simd.gemvQ8L != nil && c.typ != TypeQ4_0 {
				gotSIMD = make([]float32, 8)
				if !simd.gemvQ8L(c.typ, w, qs, ds, ss, gotSIMD, 8, cols) {
					t.Fatalf("%v: SIMD row kernel declined", c.typ)
				}
			}
			// Q4_0 also through the repacked kernels, on ggml's layout.
			var gotX8 []float32
			gotX8SIMD := map[string][]float32{}
			if c.typ == TypeQ4_0 {
				x8 := repackQ40x8(w, 8, cols)
				gotX8 = make([]float32, 8)
				gemvQ40x8Portable(x8, qs, ds, gotX8, 8, cols)
				if ok && simd.gemmQ40x8 != nil {
					xs := make([]int32, cols/32)
					q8BlockSums(qs, xs)
					forQ40Variants(func(v string) {
						gotX8SIMD[v] = make([]float32, 8)
						simd.gemmQ40x8(x8, qs, ds, xs, gotX8SIMD[v], 1, 8, 8, cols)
					})
				}
			}
			for r := range 8 {
				want := c.bits[8*a+r]
				if b := math.Float32bits(got[r]); b != want {
					t.Errorf("%v activation %d row %d: portable %#08x, ggml %#08x", c.typ, a, r, b, want)
				}
				if gotX8 != nil {
					if b := math.Float32bits(gotX8[r]); b != want {
						t.Errorf("%v activation %d row %d: repacked portable %#08x, ggml %#08x", c.typ, a, r, b, want)
					}
				}
				for v, got := range gotX8SIMD {
					if b := math.Float32bits(got[r]); b != want {
						t.Errorf("%v activation %d row %d: repacked %s %#08x, ggml %#08x", c.typ, a, r, v, b, want)
					}
				}
				if gotSIMD != nil {
					if b := math.Float32bits(gotSIMD[r]); b != want {
						t.Errorf("%v activation %d row %d: simd %#08x, ggml %#08x", c.typ, a, r, b, want)
					}
				}
			}
		}
	}
}
