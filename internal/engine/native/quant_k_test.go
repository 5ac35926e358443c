package native

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"testing"
)

// goldenRows is one tensor type's rows as ggml quantised and decoded them.
type goldenRows struct {
	typ        GGMLType
	rows, cols int
	raw        []byte
	src, want  []float32 // what ggml quantised, and what it decoded
}

// readQuantGolden reads testdata/ggml-quant-golden.bin, written by
// bench/native/gen-quant-golden.sh from ggml's own quantise and to_float.
func readQuantGolden(t *testing.T) []goldenRows {
	t.Helper()
	b, err := os.ReadFile("testdata/ggml-quant-golden.bin")
	if err != nil {
		t.Fatal(err)
	}
	var out []goldenRows
	for len(b) > 0 {
		if len(b) < 16 {
			t.Fatalf("golden file: %d trailing bytes", len(b))
		}
		g := goldenRows{typ: GGMLType(binary.LittleEndian.Uint32(b)), rows: int(binary.LittleEndian.Uint32(b[4:])), cols: int(binary.LittleEndian.Uint32(b[8:]))}
		n := int(binary.LittleEndian.Uint32(b[12:]))
		b = b[16:]
		g.raw, b = b[:n], b[n:]
		floats := func() []float32 {
			f := make([]float32, g.rows*g.cols)
			for i := range f {
				f[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			}
			b = b[4*len(f):]
			return f
		}
		g.src = floats()
		g.want = floats()
		out = append(out, g)
	}
	return out
}

func TestDequantMatchesGGML(t *testing.T) {
	golden := readQuantGolden(t)
	if len(golden) != 11 {
		t.Fatalf("golden file holds %d types, want 11", len(golden))
	}
	for _, g := range golden {
		t.Run(g.typ.String(), func(t *testing.T) {
			rb := g.typ.rowBytes(g.cols)
			if rb*g.rows != len(g.raw) {
				t.Fatalf("row bytes %d × %d rows = %d, ggml wrote %d", rb, g.rows, rb*g.rows, len(g.raw))
			}
			k, _ := selectKernels(KernelsAuto)
			for name, dequant := range map[string]func(GGMLType, []byte, []float32){"portable": dequantRow, k.name: k.dequant} {
				got := make([]float32, g.cols)
				for r := 0; r < g.rows; r++ {
					dequant(g.typ, g.raw[r*rb:(r+1)*rb], got)
					for c, v := range got {
						w := g.want[r*g.cols+c]
						// ggml may contract a*b-c into one FMA; allow that rounding.
						if diff := math.Abs(float64(v - w)); diff > 1e-6*math.Max(1, math.Abs(float64(w))) {
							t.Fatalf("%s: row %d col %d: got %g, ggml decoded %g", name, r, c, v, w)
						}
					}
				}
			}
		})
	}
}

func BenchmarkDequant(b *testing.B) {
	for _, typ := range []GGMLType{TypeQ8_0, TypeQ4_0, TypeQ4_1, TypeQ5_0, TypeQ2_K, TypeQ3_K, TypeQ4_K, TypeQ5_K, TypeQ6_K} {
		bs, ts, _ := typ.blockSize()
		const cols = 4096
		src := make([]byte, cols/bs*ts)
		for i := range src { // random bits, so data-dependent branches would mispredict
			src[i] = byte(i*2654435761>>13) ^ byte(i>>3)
		}
		dst := make([]float32, cols)
		b.Run(typ.String(), func(b *testing.B) {
			b.SetBytes(int64(cols * 4))
			for b.Loop() {
				dequantRow(typ, src, dst)
			}
		})
	}
}

// TestKQuantGemvAgrees checks the fused kernels of every quantised type against decoding
// then multiplying, on ggml's golden rows and on random block bytes (every
// bit pattern of scales and quants, with finite f16 block scales).
func TestKQuantGemvAgrees(t *testing.T) {
	simd, ok := simdKernels()
	if !ok {
		t.Skip("no SIMD kernels on this CPU")
	}
	type input struct {
		name       string
		typ        GGMLType
		raw        []byte
		rows, cols int
	}
	var inputs []input
	for _, g := range readQuantGolden(t) {
		if g.typ != TypeQ8_0 { // Q8_0's kernel has its own test (TestKernelsAgree)
			inputs = append(inputs, input{"golden", g.typ, g.raw, g.rows, g.cols})
		}
	}
	rng := uint64(7)
	next := func() byte {
		rng = rng*6364136223846793005 + 1442695040888963407
		return byte(rng >> 56)
	}
	for _, tc := range []struct {
		typ      GGMLType
		size     int
		halfOffs []int
	}{{TypeBF16, 2, nil}, {TypeQ4_0, 18, []int{0}}, {TypeQ4_1, 20, []int{0, 2}}, {TypeQ5_0, 22, []int{0}}, {TypeQ5_1, 24, []int{0, 2}},
		{TypeQ2_K, 84, []int{80, 82}}, {TypeQ3_K, 110, []int{108}}, {TypeQ4_K, 144, []int{0, 2}}, {TypeQ5_K, 176, []int{0, 2}}, {TypeQ6_K, 210, []int{208}}} {
		rows, cols := 5, 4*qkK
		per, _, _ := tc.typ.blockSize()
		raw := make([]byte, rows*cols/per*tc.size)
		for i := range raw {
			raw[i] = next()
		}
		if tc.typ == TypeBF16 {
			for i := 1; i < len(raw); i += 2 {
				raw[i] &^= 0x40 // exponent below 128: finite, |w| < 2
			}
		}
		for b := 0; b < len(raw)/tc.size; b++ {
			for _, off := range tc.halfOffs {
				binary.LittleEndian.PutUint16(raw[b*tc.size+off:], f32ToF16(float32(next())/4096))
			}
		}
		inputs = append(inputs, input{"random", tc.typ, raw, rows, cols})
	}
	for _, in := range inputs {
		x := make([]float32, in.cols)
		synthTensor{name: "x", std: 1}.fillRow(3, in.cols, x)
		w := make([]float32, in.rows*in.cols)
		rb := in.typ.rowBytes(in.cols)
		for r := 0; r < in.rows; r++ {
			dequantRow(in.typ, in.raw[r*rb:(r+1)*rb], w[r*in.cols:(r+1)*in.cols])
		}
		want, got := make([]float32, in.rows), make([]float32, in.rows)
		gemvPortable(w, x, want, in.rows, in.cols)
		if !simd.gemvQuant(in.typ, in.raw, x, got, in.rows, in.cols) {
			t.Fatalf("%s %s: fused kernel refused %d cols", in.name, in.typ, in.cols)
		}
		for r := range want {
			var scale float64
			for c := 0; c < in.cols; c++ {
				scale += math.Abs(float64(w[r*in.cols+c] * x[c]))
			}
			if d := math.Abs(float64(want[r] - got[r])); d > 1e-5*scale || math.IsNaN(d) || math.IsNaN(scale) {
				t.Errorf("%s %s row %d: decoded-then-multiplied %g, fused %g (|w|·|x| %g)", in.name, in.typ, r, want[r], got[r], scale)
			}
		}
	}
}

// TestQuantMatchesGGML checks llem's encoders against ggml's reference
// quantisers on the golden rows: the same bytes, bit for bit.
func TestQuantMatchesGGML(t *testing.T) {
	for _, g := range readQuantGolden(t) {
		if _, err := ParseGGMLType(g.typ.String()); err != nil {
			continue // read-only type
		}
		t.Run(g.typ.String(), func(t *testing.T) {
			rb := g.typ.rowBytes(g.cols)
			for r := 0; r < g.rows; r++ {
				got := quantRow(g.typ, g.src[r*g.cols:(r+1)*g.cols], nil)
				want := g.raw[r*rb : (r+1)*rb]
				if !bytes.Equal(got, want) {
					for i := range got {
						if got[i] != want[i] {
							t.Fatalf("row %d: first differing byte %d: llem %#02x, ggml %#02x", r, i, got[i], want[i])
						}
					}
				}
			}
		})
	}
}
