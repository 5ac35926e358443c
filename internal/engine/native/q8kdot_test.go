package native

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// TestQuantizeQ8KActs checks the Q8_K activation quantiser on fixed
// values: iscale = -127/max with max the first value of largest magnitude
// (so d is negative when it is positive), values rounded half to even,
// 16-value sums, zero blocks kept zero.
func TestQuantizeQ8KActs(t *testing.T) {
	x := make([]float32, 3*qkK)
	copy(x, []float32{63.5, -0.5, 1.5, -127, 127}) // max -127: iscale 1
	x[qkK], x[qkK+1], x[qkK+2] = 127, 0.5, -25.4   // max 127: iscale -1
	qs, ds, bs := make([]byte, len(x)), make([]float32, 3), make([]int16, 48)
	quantizeQ8KActs(x, qs, ds, bs)
	if ds[0] != 1 || ds[1] != -1 || ds[2] != 0 {
		t.Errorf("scales %v, want [1 -1 0]", ds)
	}
	for i, want := range []int8{64, 0, 2, -127, 127} {
		if got := int8(qs[i]); got != want {
			t.Errorf("block 0: q[%d] = %d, want %d", i, got, want)
		}
	}
	for i, want := range []int8{-127, 0, 25} {
		if got := int8(qs[qkK+i]); got != want {
			t.Errorf("block 1: q[%d] = %d, want %d", i, got, want)
		}
	}
	if bs[0] != 66 || bs[16] != -102 || bs[1] != 0 {
		t.Errorf("bsums %d %d %d, want 66 -102 0", bs[0], bs[16], bs[1])
	}
	for i := 2 * qkK; i < 3*qkK; i++ {
		if qs[i] != 0 {
			t.Fatalf("zero block quantised to %d at %d", int8(qs[i]), i)
		}
	}
}

// randomKBlocks returns rows×nb random super-blocks of t (Q2_K…Q6_K)
// with finite f16 scales of about the size llama-quantize writes.
func randomKBlocks(rng *rand.Rand, t GGMLType, rows, nb int) []byte {
	size := t.rowBytes(qkK)
	raw := make([]byte, rows*nb*size)
	for i := range raw {
		raw[i] = byte(rng.Uint32())
	}
	scale := func() uint16 { return f32ToF16(float32(rng.Float64()*0.02 + 1e-4)) }
	for b := 0; b < rows*nb; b++ {
		blk := raw[b*size : (b+1)*size]
		switch t {
		case TypeQ4_K, TypeQ5_K:
			binary.LittleEndian.PutUint16(blk, scale())
			binary.LittleEndian.PutUint16(blk[2:], scale())
		case TypeQ2_K:
			binary.LittleEndian.PutUint16(blk[80:], scale())
			binary.LittleEndian.PutUint16(blk[82:], scale())
		case TypeQ3_K:
			binary.LittleEndian.PutUint16(blk[108:], scale())
		default:
			binary.LittleEndian.PutUint16(blk[208:], scale())
		}
	}
	return raw
}

// TestQKDotsAgree checks the integer Q2_K…Q6_K kernels: the assembly
// bit for bit against the portable Go (same lanes, same float order), the
// portable Go against the float64 product of the dequantised weights and
// dequantised Q8_K activations, and against the float path on the
// unquantised activations within the activations' rounding.
func TestQKDotsAgree(t *testing.T) {
	simd, ok := simdKernels()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, typ := range []GGMLType{TypeQ2_K, TypeQ3_K, TypeQ4_K, TypeQ5_K, TypeQ6_K} {
		for _, nb := range []int{1, 2, 3, 11} {
			cols := nb * qkK
			for _, rows := range []int{1, 3, 4} {
				raw := randomKBlocks(rng, typ, rows, nb)
				x := make([]float32, cols)
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
				if nb == 3 {
					x[5] = -9 // a negative max: positive d
				}
				qs, ds, bs := make([]byte, cols), make([]float32, nb), make([]int16, cols/16)
				quantizeQ8KActs(x, qs, ds, bs)
				xd := make([]float32, cols)
				for i := range xd {
					xd[i] = ds[i/qkK] * float32(int8(qs[i]))
				}
				orders := []int{qkOrderLanes}
				if typ == TypeQ4_K {
					orders = append(orders, qkOrderBlock, qkOrderSub)
				}
				for _, order := range orders {
					want := make([]float32, rows)
					if !gemvQKPortable(typ, order, raw, qs, ds, bs, want, rows, cols) {
						t.Fatalf("%v: portable kernel refused", typ)
					}
					rb := typ.rowBytes(cols)
					deq := make([]float32, cols)
					for r := range rows {
						dequantRow(typ, raw[r*rb:(r+1)*rb], deq)
						var exact, mag, flt float64
						for i := range deq {
							exact += float64(deq[i]) * float64(xd[i])
							mag += math.Abs(float64(deq[i]) * float64(x[i]))
							flt += float64(deq[i]) * float64(x[i])
						}
						if d := math.Abs(float64(want[r]) - exact); d > 1e-5*mag+1e-6 {
							t.Errorf("%v nb %d row %d: integer %g, dequantised product %g", typ, nb, r, want[r], exact)
						}
						// Activation rounding: at most half a step of max|x|/127 per element.
						if d := math.Abs(float64(want[r]) - flt); d > 0.02*mag {
							t.Errorf("%v nb %d row %d: integer %g, float %g", typ, nb, r, want[r], flt)
						}
					}
					if !ok || simd.gemvQK == nil {
						continue
					}
					got := make([]float32, rows)
					if !simd.gemvQK(typ, order, raw, qs, ds, bs, got, rows, cols) {
						t.Fatalf("%v: simd kernel refused", typ)
					}
					for r := range rows {
						if math.Float32bits(got[r]) != math.Float32bits(want[r]) {
							t.Errorf("%v order %d nb %d rows %d row %d: simd %g, portable %g", typ, order, nb, rows, r, got[r], want[r])
						}
					}
				}
			}
		}
	}
}
