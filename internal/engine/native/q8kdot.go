package native

import (
	"encoding/binary"
	"math"
)

// Integer k-quant path: as llama.cpp does for Q4_K, Q5_K and Q6_K weights, the
// activation row is quantised once per matrix product into Q8_K blocks
// (256 int8 values, a float32 scale and the sums of each 16 values), and
// each weight super-block's dot product with it is computed in integers and
// scaled once per super-block.
//
// The portable dots below keep the AVX2 kernels' (and ggml's AVX2
// ggml_vec_dot_q4_K_q8_K / q6_K_q8_K's) eight int32 lanes and their order
// of float operations, so that the assembly can be checked against them
// exactly: lane u of a 32-value chunk holds its values 4u..4u+3.

// quantizeQ8KActs quantises x (len a multiple of 256) into Q8_K values qs,
// super-block scales ds and 16-value sums bs as ggml's quantize_row_q8_K
// does: with max the value of largest magnitude (the first, on ties),
// iscale = -127/max, q = min(127, round-half-even(iscale·x)), d = 1/iscale
// (negative when max is positive); an all-zero block is zeros.
func quantizeQ8KActs(x []float32, qs []byte, ds []float32, bs []int16) {
	nb := len(x) / qkK
	qs, ds, bs = qs[:nb*qkK], ds[:nb], bs[:nb*16]
	for b := range nb {
		blk := x[b*qkK : (b+1)*qkK]
		q := qs[b*qkK : (b+1)*qkK]
		var mx, amax float32
		for _, v := range blk {
			if a := float32(math.Abs(float64(v))); a > amax {
				amax, mx = a, v
			}
		}
		if amax == 0 {
			ds[b] = 0
			clear(q)
			clear(bs[b*16 : (b+1)*16])
			continue
		}
		iscale := -127 / mx
		for i, v := range blk {
			q[i] = byte(int8(min(127, int(math.RoundToEven(float64(iscale*v))))))
		}
		for j := range 16 {
			var s int16
			for _, v := range q[16*j : 16*j+16] {
				s += int16(int8(v))
			}
			bs[b*16+j] = s
		}
		ds[b] = 1 / iscale
	}
}

// hsum8 adds eight lanes as ggml's hsum_float_8 does.
func hsum8(a *[8]float32) float32 {
	r0, r1, r2, r3 := a[4]+a[0], a[5]+a[1], a[6]+a[2], a[7]+a[3]
	return (r0 + r2) + (r1 + r3)
}

// scaleMinK4Int unpacks the j-th 6-bit scale and minimum of a Q4_K/Q5_K
// block as integers.
func scaleMinK4Int(j int, q []byte) (int32, int32) {
	if j < 4 {
		return int32(q[j] & 63), int32(q[j+4] & 63)
	}
	return int32((q[j+4] & 0x0f) | ((q[j-4] >> 6) << 4)), int32((q[j+4] >> 4) | ((q[j] >> 6) << 4))
}

// dotQ4KQ8K is the dot product of nb Q4_K super-blocks (144 bytes: d,
// dmin f16; 12 bytes of 6-bit scales and minimums; 128 bytes of nibbles)
// with Q8_K activations: per super-block, d·dx·Σ_g sc_g·Σ q·qx (in lanes)
// minus dmin·dx·Σ_g m_g·Σ qx (from bsums, in four lanes).
func dotQ4KQ8K(w, qs []byte, ds []float32, bs []int16, nb int) float32 {
	var acc [8]float32
	var accm [4]float32
	for b := range nb {
		blk := w[b*144 : (b+1)*144]
		q8 := qs[b*qkK : (b+1)*qkK]
		bsum := bs[b*16 : (b+1)*16]
		d := ds[b] * half(blk)
		dmin := -ds[b] * half(blk[2:])
		var sc, mn [8]int32
		for j := range 8 {
			sc[j], mn[j] = scaleMinK4Int(j, blk[4:16])
		}
		for v := range 4 {
			s0 := int32(bsum[4*v]) + int32(bsum[4*v+1])
			s1 := int32(bsum[4*v+2]) + int32(bsum[4*v+3])
			accm[v] = fma32(dmin, float32(mn[2*v]*s0+mn[2*v+1]*s1), accm[v])
		}
		var sumi [8]int32
		for j := range 4 {
			q4 := blk[16+32*j : 16+32*j+32]
			xl, xh := q8[64*j:64*j+32], q8[64*j+32:64*j+64]
			for u := range 8 {
				var sl, sh int32
				for e := 4 * u; e < 4*u+4; e++ {
					sl += int32(q4[e]&15) * int32(int8(xl[e]))
					sh += int32(q4[e]>>4) * int32(int8(xh[e]))
				}
				sumi[u] += sc[2*j]*sl + sc[2*j+1]*sh
			}
		}
		for u := range 8 {
			acc[u] = fma32(d, float32(sumi[u]), acc[u])
		}
	}
	return hsum8(&acc) + ((accm[0] + accm[2]) + (accm[1] + accm[3]))
}

// dotQ5KQ8K is the dot product of nb Q5_K super-blocks (176 bytes: d,
// dmin f16; 12 bytes of 6-bit scales and minimums; qh[32], the fifth bits;
// 128 bytes of nibbles) with Q8_K activations, in the lanes of
// ggml_vec_dot_q5_K_q8_K (AVX2): Q4_K's, with the minimums' term summed in
// integers per super-block and accumulated in one float.
func dotQ5KQ8K(w, qs []byte, ds []float32, bs []int16, nb int) float32 {
	var acc [8]float32
	var summs float32
	for b := range nb {
		blk := w[b*176 : (b+1)*176]
		q8 := qs[b*qkK : (b+1)*qkK]
		bsum := bs[b*16 : (b+1)*16]
		d := ds[b] * half(blk)
		dmin := -ds[b] * half(blk[2:])
		var sc, mn [8]int32
		for j := range 8 {
			sc[j], mn[j] = scaleMinK4Int(j, blk[4:16])
		}
		var imin int32
		for g := range 8 {
			imin += mn[g] * (int32(bsum[2*g]) + int32(bsum[2*g+1]))
		}
		summs = fma32(dmin, float32(imin), summs)
		qh := blk[16:48]
		var sumi [8]int32
		for j := range 4 {
			q5 := blk[48+32*j : 48+32*j+32]
			xl, xh := q8[64*j:64*j+32], q8[64*j+32:64*j+64]
			for u := range 8 {
				var sl, sh int32
				for e := 4 * u; e < 4*u+4; e++ {
					lo := int32(q5[e]&15) | int32(qh[e]>>(2*j)&1)<<4
					hi := int32(q5[e]>>4) | int32(qh[e]>>(2*j+1)&1)<<4
					sl += lo * int32(int8(xl[e]))
					sh += hi * int32(int8(xh[e]))
				}
				sumi[u] += sc[2*j]*sl + sc[2*j+1]*sh
			}
		}
		for u := range 8 {
			acc[u] = fma32(d, float32(sumi[u]), acc[u])
		}
	}
	return hsum8(&acc) + summs
}

// dotQ2KQ8K is the dot product of nb Q2_K super-blocks (84 bytes:
// scales[16], a 4-bit scale and minimum per 16 values; qs[64], 2-bit
// values; d, dmin f16) with Q8_K activations, in the lanes of
// ggml_vec_dot_q2_K_q8_K (AVX2): per super-block the minimums' term
// dmin·dx·(m_2u·bsum_2u + m_2u+1·bsum_2u+1) first, then d·dx·sumi.
func dotQ2KQ8K(w, qs []byte, ds []float32, bs []int16, nb int) float32 {
	var acc [8]float32
	for b := range nb {
		blk := w[b*84 : (b+1)*84]
		q8 := qs[b*qkK : (b+1)*qkK]
		bsum := bs[b*16 : (b+1)*16]
		sc := blk[:16]
		d := ds[b] * half(blk[80:])
		dmin := -ds[b] * half(blk[82:])
		for u := range 8 {
			p := int32(sc[2*u]>>4)*int32(bsum[2*u]) + int32(sc[2*u+1]>>4)*int32(bsum[2*u+1])
			acc[u] = fma32(dmin, float32(p), acc[u])
		}
		var sumi [8]int32
		for j := range 2 {
			q2, x := blk[16+32*j:16+32*j+32], q8[128*j:128*j+128]
			for u := range 8 {
				for c := range 4 {
					var s int32
					for e := 4 * u; e < 4*u+4; e++ {
						s += int32(q2[e]>>(2*c)&3) * int32(int8(x[32*c+e]))
					}
					sumi[u] += int32(sc[8*j+2*c+u/4]&15) * s
				}
			}
		}
		for u := range 8 {
			acc[u] = fma32(d, float32(sumi[u]), acc[u])
		}
	}
	return hsum8(&acc)
}

// q3kScales unpacks the sixteen 6-bit scales of a Q3_K block (12 bytes),
// less their bias of 32.
func q3kScales(b []byte) [16]int32 {
	const kmask1, kmask2 = 0x03030303, 0x0f0f0f0f
	a0, a1, a2 := binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:]), binary.LittleEndian.Uint32(b[8:])
	aux := [4]uint32{
		a0&kmask2 | (a2>>0&kmask1)<<4,
		a1&kmask2 | (a2>>2&kmask1)<<4,
		a0>>4&kmask2 | (a2>>4&kmask1)<<4,
		a1>>4&kmask2 | (a2>>6&kmask1)<<4,
	}
	var sc [16]int32
	for i, a := range aux {
		for k := range 4 {
			sc[4*i+k] = int32(byte(a>>(8*k))) - 32
		}
	}
	return sc
}

// dotQ3KQ8K is the dot product of nb Q3_K super-blocks (110 bytes:
// hmask[32], the high bits (clear: subtract 4); qs[64], the low 2 bits;
// scales[12], 6-bit scales biased by 32; d f16) with Q8_K activations, in
// the lanes of ggml_vec_dot_q3_K_q8_K (AVX2).
func dotQ3KQ8K(w, qs []byte, ds []float32, bs []int16, nb int) float32 {
	var acc [8]float32
	for b := range nb {
		blk := w[b*110 : (b+1)*110]
		q8 := qs[b*qkK : (b+1)*qkK]
		hm := blk[:32]
		sc := q3kScales(blk[96:108])
		d := ds[b] * half(blk[108:])
		var sumi [8]int32
		for j := range 2 {
			q3, x := blk[32+32*j:32+32*j+32], q8[128*j:128*j+128]
			for u := range 8 {
				for c := range 4 {
					var s int32
					bit := uint(4*j + c)
					for e := 4 * u; e < 4*u+4; e++ {
						q := int32(q3[e]>>(2*c)&3) - 4*(1-int32(hm[e]>>bit&1))
						s += q * int32(int8(x[32*c+e]))
					}
					sumi[u] += sc[8*j+2*c+u/4] * s
				}
			}
		}
		for u := range 8 {
			acc[u] = fma32(d, float32(sumi[u]), acc[u])
		}
	}
	return hsum8(&acc)
}

// Float orders of the integer Q4_K kernel. llama.cpp on AVX2 repacks the
// Q4_K matrices whose row count is a multiple of 8 (q4_K_8x8, repack.cpp)
// and runs them with kernels that scale integer sums in another order than
// ggml_vec_dot_q4_K_q8_K's: per super-block for an activation row outside
// a full group of four (gemv), per 64-value step for rows in one (gemm).
// The order matters beyond the last bit: the next product's Q8_K rounding
// turns a last-bit difference into a different int8 now and then.
const (
	qkOrderLanes = iota // ggml_vec_dot_q4_K_q8_K: eight int32 lanes
	qkOrderBlock        // repacked gemv: one sum per super-block
	qkOrderSub          // repacked gemm: one sum per 64 values
)

// dotQ4KQ8KRepack is dotQ4KQ8K in the float order of ggml's repacked Q4_K
// kernels: the integer sum (and the minimums' sum) of each super-block
// (perSub false) or of each 64-value step (perSub true) scaled by d·dx
// (dmin·dx) and accumulated, the minimums' total subtracted at the end.
func dotQ4KQ8KRepack(w, qs []byte, ds []float32, bs []int16, nb int, perSub bool) float32 {
	acc := q4kRepackAcc{perSub: perSub}
	for b := range nb {
		blk := w[b*144 : (b+1)*144]
		q8 := qs[b*qkK : (b+1)*qkK]
		bsum := bs[b*16 : (b+1)*16]
		d := half(blk) * ds[b]
		dmin := half(blk[2:]) * ds[b]
		for j := range 4 {
			sc0, m0 := scaleMinK4Int(2*j, blk[4:16])
			sc1, m1 := scaleMinK4Int(2*j+1, blk[4:16])
			q4 := blk[16+32*j : 16+32*j+32]
			xl, xh := q8[64*j:64*j+32], q8[64*j+32:64*j+64]
			var sl, sh int32
			for e := range 32 {
				sl += int32(q4[e]&15) * int32(int8(xl[e]))
				sh += int32(q4[e]>>4) * int32(int8(xh[e]))
			}
			acc.step(sc0*sl+sc1*sh, q4kMinTerm(m0, m1, bsum, j), d, dmin)
		}
		acc.endBlock(d, dmin)
	}
	return acc.result()
}

// q4kMinTerm is step j's minimums' term of a Q4_K super-block: its two
// sub-blocks' minimums times their activations' 16-value sums.
func q4kMinTerm(m0, m1 int32, bsum []int16, j int) int32 {
	return m0*(int32(bsum[4*j])+int32(bsum[4*j+1])) + m1*(int32(bsum[4*j+2])+int32(bsum[4*j+3]))
}

// q4kRepackAcc accumulates one Q4_K row's dot product in the float order
// of ggml's repacked kernels: each 64-value step's integer sums (s for the
// values, m for the minimums' terms) fused with d·dx and dmin·dx at once
// (perSub), or summed over the super-block and fused at its end.
type q4kRepackAcc struct {
	perSub     bool
	acc, accm  float32
	isum, imin int32
}

func (a *q4kRepackAcc) step(s, m int32, d, dmin float32) {
	if a.perSub {
		a.acc = fma32(float32(s), d, a.acc)
		a.accm = fma32(float32(m), dmin, a.accm)
		return
	}
	a.isum += s
	a.imin += m
}

func (a *q4kRepackAcc) endBlock(d, dmin float32) {
	if !a.perSub {
		a.acc = fma32(float32(a.isum), d, a.acc)
		a.accm = fma32(float32(a.imin), dmin, a.accm)
	}
	a.isum, a.imin = 0, 0
}

// result is the row's dot product: the values' total less the minimums'.
func (a *q4kRepackAcc) result() float32 { return a.acc - a.accm }

// dotQ6KQ8K is the dot product of nb Q6_K super-blocks (210 bytes: ql[128],
// qh[64], int8 scales[16], d f16) with Q8_K activations: the unsigned
// 6-bit values times qx, scaled per 16 values, less 32·Σ sc·bsums for the
// values' bias of 32.
func dotQ6KQ8K(w, qs []byte, ds []float32, bs []int16, nb int) float32 {
	var acc [8]float32
	for b := range nb {
		blk := w[b*210 : (b+1)*210]
		q8 := qs[b*qkK : (b+1)*qkK]
		bsum := bs[b*16 : (b+1)*16]
		sc := blk[192:208]
		d := ds[b] * half(blk[208:])
		var sumi [8]int32
		for j := range 2 {
			ql, qh, x := blk[64*j:64*j+64], blk[128+32*j:128+32*j+32], q8[128*j:128*j+128]
			for u := range 8 {
				var s [4]int32
				for e := 4 * u; e < 4*u+4; e++ {
					h := qh[e]
					s[0] += int32(ql[e]&15|(h&3)<<4) * int32(int8(x[e]))
					s[1] += int32(ql[32+e]&15|(h>>2&3)<<4) * int32(int8(x[32+e]))
					s[2] += int32(ql[e]>>4|(h>>4&3)<<4) * int32(int8(x[64+e]))
					s[3] += int32(ql[32+e]>>4|(h>>6)<<4) * int32(int8(x[96+e]))
				}
				for c := range 4 {
					sumi[u] += int32(int8(sc[8*j+2*c+u/4])) * s[c]
				}
			}
		}
		for u := range 8 {
			sub := int32(bsum[2*u])*int32(int8(sc[2*u])) + int32(bsum[2*u+1])*int32(int8(sc[2*u+1]))
			acc[u] = fma32(d, float32(sumi[u]-sub<<5), acc[u])
		}
	}
	return hsum8(&acc)
}

// gemvQKPortable sets y[r] to the dot product of Q4_K, Q5_K or Q6_K weight row r
// with Q8_K activations, for r < rows, Q4_K in the given float order (the
// others have one); it reports false for other types.
func gemvQKPortable(t GGMLType, order int, w, qs []byte, ds []float32, bs []int16, y []float32, rows, cols int) bool {
	var dot func(w, qs []byte, ds []float32, bs []int16, nb int) float32
	switch {
	case t == TypeQ4_K && order == qkOrderLanes:
		dot = dotQ4KQ8K
	case t == TypeQ4_K:
		perSub := order == qkOrderSub
		dot = func(w, qs []byte, ds []float32, bs []int16, nb int) float32 {
			return dotQ4KQ8KRepack(w, qs, ds, bs, nb, perSub)
		}
	case t == TypeQ2_K:
		dot = dotQ2KQ8K
	case t == TypeQ3_K:
		dot = dotQ3KQ8K
	case t == TypeQ5_K:
		dot = dotQ5KQ8K
	case t == TypeQ6_K:
		dot = dotQ6KQ8K
	default:
		return false
	}
	nb := cols / qkK
	rb := t.rowBytes(cols)
	for r := range rows {
		y[r] = dot(w[r*rb:(r+1)*rb], qs, ds, bs, nb)
	}
	return true
}
