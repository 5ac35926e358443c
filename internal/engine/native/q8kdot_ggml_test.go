package native

import (
	"encoding/binary"
	"math"
	"testing"
)

// ggmlKDots holds, per k-quant type, what ggml's own kernels
// (ggml_get_type_traits_cpu: quantize_row_q8_K, then
// ggml_vec_dot_qX_K_q8_K, llama.cpp's AVX2 build) returned as float32 bits
// for the inputs ggmlKInputs regenerates: six trials of four rows of two
// super-blocks each.
var ggmlKDots = []struct {
	typ  GGMLType
	bits []uint32
}{
	{TypeQ2_K, []uint32{
		0x40942107, 0xbf25747c, 0x405a2f92, 0x3d838884,
		0xbe98c700, 0x40595384, 0x40928a87, 0xc03ae5ee,
		0xc0b0bafa, 0x3f37b826, 0x409face4, 0xc1097e54,
		0x407b3c0b, 0x3ff16a5f, 0x40a3b870, 0x407963b5,
		0x4031a7fb, 0x3fba49bc, 0x3ef0e820, 0x3effe410,
		0xbfa10cf3, 0xbebf8128, 0xbfcfaada, 0xc002625e,
	}},
	{TypeQ3_K, []uint32{
		0xc18986fd, 0x3f45397c, 0xc1621257, 0xc1065b68,
		0xc10df080, 0x407ccc8c, 0x40a56380, 0x415f8002,
		0xc1526474, 0xc181147c, 0x402816d5, 0x410d6b4c,
		0xc11d88e2, 0xc148cd7c, 0x40800020, 0x41196638,
		0xc0030ca0, 0x41941b37, 0xc17997c7, 0xbf1c2320,
		0x405811e5, 0xbf8bb760, 0xc18ae350, 0xc2118e46,
	}},
	{TypeQ4_K, []uint32{
		0x42cd7042, 0x426e3882, 0x41df560b, 0x428a83b8,
		0xc11bf824, 0xc29194a1, 0x414285b4, 0x42dc2b9a,
		0x41a820d2, 0xc0f26ca2, 0x404a3c72, 0xc22f2863,
		0xc33168bb, 0xbf6fa4a2, 0x43634a97, 0x422511ee,
		0x421c483b, 0xc08437af, 0xc1dc5195, 0x429a40cd,
		0x438d08e8, 0xc15430ea, 0x42eb88ac, 0x42ca214a,
	}},
	{TypeQ5_K, []uint32{
		0x42ae27f0, 0x4210f659, 0x430a3056, 0x43ae0cae,
		0x4322ce34, 0xc3408894, 0xc339e224, 0x4243ecb5,
		0x430abb85, 0x40930aa5, 0x42e65894, 0xc073f3bc,
		0x427f2884, 0xc2c43ff4, 0xc1aa5b03, 0xc25adbdd,
		0x43251053, 0xc2d02b9e, 0x4393529b, 0x42a5e114,
		0x42b37e8c, 0x41fa0d6d, 0xc2063f2d, 0x4252e50f,
	}},
	{TypeQ6_K, []uint32{
		0x4168f1ec, 0xbfa5e000, 0xc3eade34, 0xc34381bc,
		0xc26231f9, 0x42b5bd70, 0xc3829fe2, 0x43b875cc,
		0xc38ece5c, 0xc2b30b8e, 0xc38d9fcc, 0x4384d4cc,
		0xc31175a8, 0xc403475e, 0x43be8f6a, 0xc0278600,
		0xc30b9580, 0xc2c872e2, 0xc2aa0698, 0xc2750980,
		0xc3ec00da, 0x43b791fa, 0x4468856c, 0xc4313319,
	}},
}

// ggmlKInputs regenerates the inputs ggmlKDots were computed on: a
// xorshift64 stream gives the weight bytes, then each super-block's f16
// scale (and minimum scale), then activations as sums of twelve uniforms
// less six.
type ggmlKInputs struct{ s uint64 }

func (g *ggmlKInputs) next() uint32 {
	g.s ^= g.s << 13
	g.s ^= g.s >> 7
	g.s ^= g.s << 17
	return uint32(g.s)
}

func (g *ggmlKInputs) uniform() float32 { return float32(g.next()>>8) / 16777216 }

func (g *ggmlKInputs) trial(t GGMLType, rows, nb int) (w []byte, x []float32) {
	size := t.rowBytes(qkK)
	w = make([]byte, rows*nb*size)
	for i := range w {
		w[i] = byte(g.next())
	}
	for b := 0; b < rows*nb; b++ {
		blk := w[b*size : (b+1)*size]
		d := f32ToF16(g.uniform()*0.02 + 1e-4)
		m := f32ToF16(g.uniform()*0.02 + 1e-4)
		switch t {
		case TypeQ4_K, TypeQ5_K:
			binary.LittleEndian.PutUint16(blk, d)
			binary.LittleEndian.PutUint16(blk[2:], m)
		case TypeQ2_K:
			binary.LittleEndian.PutUint16(blk[80:], d)
			binary.LittleEndian.PutUint16(blk[82:], m)
		case TypeQ3_K:
			binary.LittleEndian.PutUint16(blk[108:], d)
		case TypeQ6_K:
			binary.LittleEndian.PutUint16(blk[208:], d)
		}
	}
	x = make([]float32, nb*qkK)
	for i := range x {
		var u float32
		for range 12 {
			u += g.uniform()
		}
		x[i] = u - 6
	}
	return w, x
}

// TestQKDotsMatchGGML checks the Q8_K quantiser and the integer k-quant
// dots, portable and assembly, bit for bit against results of ggml's own
// kernels on the same inputs.
func TestQKDotsMatchGGML(t *testing.T) {
	const rows, nb = 4, 2
	g := &ggmlKInputs{s: 88172645463325252}
	simd, ok := simdKernels()
	for _, c := range ggmlKDots {
		for trial := range len(c.bits) / rows {
			w, x := g.trial(c.typ, rows, nb)
			qs, ds, bs := make([]byte, nb*qkK), make([]float32, nb), make([]int16, nb*16)
			quantizeQ8KActs(x, qs, ds, bs)
			got := make([]float32, rows)
			gemvQKPortable(c.typ, qkOrderLanes, w, qs, ds, bs, got, rows, nb*qkK)
			var asm []float32
			if ok && simd.gemvQK != nil {
				asm = make([]float32, rows)
				simd.gemvQK(c.typ, qkOrderLanes, w, qs, ds, bs, asm, rows, nb*qkK)
			}
			for r := range rows {
				want := c.bits[trial*rows+r]
				if b := math.Float32bits(got[r]); b != want {
					t.Errorf("%v trial %d row %d: portable %g, ggml %g", c.typ, trial, r, got[r], math.Float32frombits(want))
				}
				if asm != nil && math.Float32bits(asm[r]) != want {
					t.Errorf("%v trial %d row %d: simd %g, ggml %g", c.typ, trial, r, asm[r], math.Float32frombits(want))
				}
			}
		}
	}
}
