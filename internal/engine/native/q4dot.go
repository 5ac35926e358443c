package native

import "encoding/binary"

// Integer paths of the legacy 32-weight types: as ggml pairs them, Q4_0
// and Q5_0 weights are multiplied with the activations quantised to Q8_0
// (quantizeQ8Acts), Q4_1 and Q5_1 with Q8_1 (the same plus each block's
// sum, quantizeQ8ActsSums, for the minimum term), in integers, each
// block's sum scaled once by the product of the two block scales.
//
// Float orders: llama.cpp on AVX2 repacks Q4_0 matrices of a multiple of
// 8 rows (q4_0_8x8) and its gemv and gemm kernels add each block's scaled
// sum to one accumulator per output, float(Σ)·(dw·dx) fused into it, block
// after block; dotQ40Q8 does the same. Q5_0 is not repacked:
// ggml_vec_dot_q5_0_q8_0 keeps eight lanes (sums of four consecutive
// products), each scaled by dw·dx and fused into its own accumulator, and
// adds the lanes at the end (hsum_float_8); dotQ50Q8 does the same, and
// dotQ41Q8/dotQ51Q8 as ggml_vec_dot_q4_1_q8_1/q5_1_q8_1 do.

// dotQ40Q8 is the dot product of nb Q4_0 weight blocks (18 bytes: f16
// scale, 16 bytes of nibbles, low nibbles the first 16 weights) with Q8_0
// activations qs, ds, in the float order of ggml's repacked Q4_0 kernels.
func dotQ40Q8(w, qs []byte, ds []float32, nb int) float32 {
	var sum float32
	for b := range nb {
		blk := w[b*18 : b*18+18]
		q := qs[b*32 : b*32+32]
		var s int32
		for i := range 16 {
			s += (int32(blk[2+i]&15) - 8) * int32(int8(q[i]))
			s += (int32(blk[2+i]>>4) - 8) * int32(int8(q[16+i]))
		}
		d := f16ToF32(binary.LittleEndian.Uint16(blk)) * ds[b]
		sum = fma32(float32(s), d, sum)
	}
	return sum
}

// dotQ50Q8 is the dot product of nb Q5_0 weight blocks (22 bytes: f16
// scale, 32-bit qh of fifth bits, 16 bytes of nibbles as in Q4_0) with
// Q8_0 activations qs, ds, in the float order of ggml_vec_dot_q5_0_q8_0.
func dotQ50Q8(w, qs []byte, ds []float32, nb int) float32 {
	var acc [8]float32
	for b := range nb {
		blk := w[b*22 : b*22+22]
		q := qs[b*32 : b*32+32]
		qh := binary.LittleEndian.Uint32(blk[2:])
		d := f16ToF32(binary.LittleEndian.Uint16(blk)) * ds[b]
		for l := range 8 {
			var s int32
			for j := 4 * l; j < 4*l+4; j++ {
				v := int32(blk[6+j%16])
				if j >= 16 {
					v >>= 4
				}
				v = v&15 | int32(qh>>j&1)<<4
				s += (v - 16) * int32(int8(q[j]))
			}
			acc[l] = fma32(d, float32(s), acc[l])
		}
	}
	return hsum8(&acc)
}

// dotQ41Q8 is the dot product of nb Q4_1 weight blocks (20 bytes: f16
// scale d, f16 minimum m, 16 bytes of nibbles as in Q4_0) with Q8_1
// activations qs, ds, ss, in the float order of ggml_vec_dot_q4_1_q8_1:
// eight lanes of d·dx·Σq·x, and m·s fused into a scalar, added last.
func dotQ41Q8(w, qs []byte, ds, ss []float32, nb int) float32 {
	var acc [8]float32
	var summs float32
	for b := range nb {
		blk := w[b*20 : b*20+20]
		q := qs[b*32 : b*32+32]
		summs = fma32(f16ToF32(binary.LittleEndian.Uint16(blk[2:])), ss[b], summs)
		d := f16ToF32(binary.LittleEndian.Uint16(blk)) * ds[b]
		for l := range 8 {
			var s int32
			for j := 4 * l; j < 4*l+4; j++ {
				v := int32(blk[4+j%16])
				if j >= 16 {
					v >>= 4
				}
				s += v & 15 * int32(int8(q[j]))
			}
			acc[l] = fma32(d, float32(s), acc[l])
		}
	}
	return hsum8(&acc) + summs
}

// dotQ51Q8 is dotQ41Q8 for Q5_1 blocks (24 bytes: d, m, 32-bit qh of
// fifth bits, 16 bytes of nibbles), ggml_vec_dot_q5_1_q8_1's order.
func dotQ51Q8(w, qs []byte, ds, ss []float32, nb int) float32 {
	var acc [8]float32
	var summs float32
	for b := range nb {
		blk := w[b*24 : b*24+24]
		q := qs[b*32 : b*32+32]
		qh := binary.LittleEndian.Uint32(blk[4:])
		summs = fma32(f16ToF32(binary.LittleEndian.Uint16(blk[2:])), ss[b], summs)
		d := f16ToF32(binary.LittleEndian.Uint16(blk)) * ds[b]
		for l := range 8 {
			var s int32
			for j := 4 * l; j < 4*l+4; j++ {
				v := int32(blk[8+j%16])
				if j >= 16 {
					v >>= 4
				}
				v = v&15 | int32(qh>>j&1)<<4
				s += v * int32(int8(q[j]))
			}
			acc[l] = fma32(d, float32(s), acc[l])
		}
	}
	return hsum8(&acc) + summs
}

// intQ8 reports whether the integer kernel gemvQ8L serves weights of type
// t (the legacy types ggml pairs with Q8_0 activations, and Q4_1 and Q5_1,
// which it pairs with Q8_1: Q8_0's values and scales and the sums ss).
func intQ8(t GGMLType) bool {
	return t == TypeQ4_0 || t == TypeQ5_0 || t == TypeQ4_1 || t == TypeQ5_1
}

// intQ8ByDefault reports whether the integer kernel multiplies type t's
// matrices under the default kernels: every intQ8 type, whose files then
// match llama.cpp's own decoding token for token (TestMatchesLlamaCpp) now
// that the rest of the forward pass is bit-exact with ggml's. Q4_0 takes
// the repacked kernel (q4x8.go), so only its matrices of a multiple of 8
// rows (the ones llama.cpp repacks) are on the integer path.
func intQ8ByDefault(t GGMLType) bool { return intQ8(t) }

// needsQ8Sums reports whether type t's integer kernel takes Q8_1 sums.
func needsQ8Sums(t GGMLType) bool { return t == TypeQ4_1 || t == TypeQ5_1 }

// gemvQ8LPortable sets y[r] to the dot product of weight row r of type t
// (intQ8) with the Q8_0 activations (and Q8_1 sums ss for Q4_1 and Q5_1),
// for r < rows; it reports false for other types.
func gemvQ8LPortable(t GGMLType, w, qs []byte, ds, ss, y []float32, rows, cols int) bool {
	if !intQ8(t) || cols%32 != 0 {
		return false
	}
	nb := cols / 32
	rb := t.rowBytes(cols)
	for r := range rows {
		row := w[r*rb : (r+1)*rb]
		switch t {
		case TypeQ4_0:
			y[r] = dotQ40Q8(row, qs, ds, nb)
		case TypeQ5_0:
			y[r] = dotQ50Q8(row, qs, ds, nb)
		case TypeQ4_1:
			y[r] = dotQ41Q8(row, qs, ds, ss, nb)
		case TypeQ5_1:
			y[r] = dotQ51Q8(row, qs, ds, ss, nb)
		}
	}
	return true
}
