package native

import (
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
	want       []float32
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
		g.want = make([]float32, g.rows*g.cols)
		for i := range g.want {
			g.want[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		b = b[4*len(g.want):]
		out = append(out, g)
	}
	return out
}

func TestDequantMatchesGGML(t *testing.T) {
	golden := readQuantGolden(t)
	if len(golden) != 10 {
		t.Fatalf("golden file holds %d types, want 10", len(golden))
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
	for _, typ := range []GGMLType{TypeQ8_0, TypeQ4_0, TypeQ4_K, TypeQ5_K, TypeQ6_K} {
		bs, ts, _ := typ.blockSize()
		const cols = 4096
		src := make([]byte, cols/bs*ts)
		dst := make([]float32, cols)
		b.Run(typ.String(), func(b *testing.B) {
			b.SetBytes(int64(cols * 4))
			for b.Loop() {
				dequantRow(typ, src, dst)
			}
		})
	}
}
