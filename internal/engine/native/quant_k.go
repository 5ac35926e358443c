package native

import (
	"encoding/binary"
)

// Dequantisation of the legacy 5-bit and 4-bit-with-minimum types and of
// ggml's k-quants (256-element super-blocks), the tensor types of the
// Q2_K…Q6_K and Q4_K_M/Q5_K_M files most published GGUF models come in. The
// layouts follow ggml's block_* structs; each function decodes whole blocks
// of one row.

const qkK = 256 // elements per k-quant super-block

func half(b []byte) float32 { return f16ToF32(binary.LittleEndian.Uint16(b)) }

// dequantQ4_1: {d, m f16; qs[16]}, x = q·d + m.
func dequantQ4_1(src []byte, dst []float32) {
	for b := 0; b < len(dst)/32; b++ {
		blk := src[b*20 : b*20+20]
		d, m := half(blk), half(blk[2:])
		out := dst[b*32 : b*32+32]
		for j := 0; j < 16; j++ {
			q := blk[4+j]
			out[j] = float32(q&0x0f)*d + m
			out[j+16] = float32(q>>4)*d + m
		}
	}
}

// dequantQ5 decodes Q5_0 ({d; qh[4]; qs[16]}, x = (q-16)·d) and, with
// withMin, Q5_1 ({d, m; qh[4]; qs[16]}, x = q·d + m).
func dequantQ5(src []byte, dst []float32, withMin bool) {
	size, off := 22, 2
	if withMin {
		size, off = 24, 4
	}
	for b := 0; b < len(dst)/32; b++ {
		blk := src[b*size : b*size+size]
		d := half(blk)
		var m float32
		bias := 16
		if withMin {
			m, bias = half(blk[2:]), 0
		}
		qh := binary.LittleEndian.Uint32(blk[off:])
		qs := blk[off+4:]
		out := dst[b*32 : b*32+32]
		for j := 0; j < 16; j++ {
			h0 := int(qh>>uint(j)<<4) & 0x10
			h1 := int(qh>>uint(j+12)) & 0x10
			out[j] = float32(int(qs[j]&0x0f)|h0-bias)*d + m
			out[j+16] = float32(int(qs[j]>>4)|h1-bias)*d + m
		}
	}
}

// dequantQ2K: {scales[16]; qs[64]; d, dmin f16}; 2-bit values, a 4-bit
// scale and 4-bit minimum per 16 elements.
func dequantQ2K(src []byte, dst []float32) {
	for b := 0; b < len(dst)/qkK; b++ {
		blk := src[b*84 : b*84+84]
		scales, q := blk[:16], blk[16:80]
		d, dmin := half(blk[80:]), half(blk[82:])
		y := dst[b*qkK : b*qkK+qkK]
		is := 0
		for n := 0; n < qkK; n += 128 {
			for shift := uint(0); shift < 8; shift += 2 {
				for half := 0; half < 2; half++ {
					sc := scales[is]
					is++
					dl, ml := d*float32(sc&0x0f), dmin*float32(sc>>4)
					for l := 0; l < 16; l++ {
						y[l] = dl*float32((q[l+16*half]>>shift)&3) - ml
					}
					y = y[16:]
				}
			}
			q = q[32:]
		}
	}
}

// dequantQ3K: {hmask[32]; qs[64]; scales[12]; d f16}; 2 low bits in qs, the
// high bit in hmask (clear means subtract 4), 6-bit scales biased by 32.
func dequantQ3K(src []byte, dst []float32) {
	const kmask1, kmask2 = 0x03030303, 0x0f0f0f0f
	for b := 0; b < len(dst)/qkK; b++ {
		blk := src[b*110 : b*110+110]
		hm, q := blk[:32], blk[32:96]
		var aux [4]uint32
		for i := range 3 {
			aux[i] = binary.LittleEndian.Uint32(blk[96+4*i:])
		}
		tmp := aux[2]
		aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4)
		aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4)
		aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4)
		aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4)
		var scales [16]int8
		for i, a := range aux {
			for k := range 4 {
				scales[4*i+k] = int8(a >> (8 * k))
			}
		}
		d := half(blk[108:])
		y := dst[b*qkK : b*qkK+qkK]
		is := 0
		hbit := uint(0)
		for n := 0; n < qkK; n += 128 {
			for shift := uint(0); shift < 8; shift += 2 {
				for h := 0; h < 2; h++ {
					dl := d * float32(int(scales[is])-32)
					is++
					for l := 0; l < 16; l++ {
						// Subtract 4 where the hmask bit is clear, without a branch.
						clear := 1 - int((hm[l+16*h]>>hbit)&1)
						y[l] = dl * float32(int((q[l+16*h]>>shift)&3)-4*clear)
					}
					y = y[16:]
				}
				hbit++
			}
			q = q[32:]
		}
	}
}

// scaleMinK4 unpacks the j-th 6-bit scale and minimum of a Q4_K/Q5_K block.
func scaleMinK4(j int, q []byte) (float32, float32) {
	if j < 4 {
		return float32(q[j] & 63), float32(q[j+4] & 63)
	}
	return float32((q[j+4] & 0x0f) | ((q[j-4] >> 6) << 4)), float32((q[j+4] >> 4) | ((q[j] >> 6) << 4))
}

// dequantQ4K: {d, dmin f16; scales[12]; qs[128]}; eight 32-element groups
// with 6-bit scales and minimums.
func dequantQ4K(src []byte, dst []float32) { dequantQ45K(src, dst, false) }

// dequantQ5K: {d, dmin f16; scales[12]; qh[32]; qs[128]}; Q4_K plus a fifth
// bit per element from qh.
func dequantQ5K(src []byte, dst []float32) { dequantQ45K(src, dst, true) }

func dequantQ45K(src []byte, dst []float32, fifthBit bool) {
	size, qsAt := 144, 16
	if fifthBit {
		size, qsAt = 176, 48
	}
	for b := 0; b < len(dst)/qkK; b++ {
		blk := src[b*size : (b+1)*size]
		d, dmin := half(blk), half(blk[2:])
		scales, qh, ql := blk[4:16], blk[16:48], blk[qsAt:size]
		y := dst[b*qkK : b*qkK+qkK]
		for is := 0; is < 8; is += 2 {
			sc, mn := scaleMinK4(is, scales)
			d1, m1 := d*sc, dmin*mn
			sc, mn = scaleMinK4(is+1, scales)
			d2, m2 := d*sc, dmin*mn
			for l := 0; l < 32; l++ {
				lo, hi := int(ql[l]&0x0f), int(ql[l]>>4)
				if fifthBit {
					// qh bit is for the low nibbles, is+1 for the high; OR-ed in
					// without a branch, as the bits are random.
					h := qh[l] >> uint(is)
					lo |= int(h&1) << 4
					hi |= int(h&2) << 3
				}
				y[l] = d1*float32(lo) - m1
				y[l+32] = d2*float32(hi) - m2
			}
			y, ql = y[64:], ql[32:]
		}
	}
}

// dequantQ6K: {ql[128]; qh[64]; scales[16] int8; d f16}; 6-bit values
// biased by 32, an 8-bit scale per 16 elements.
func dequantQ6K(src []byte, dst []float32) {
	for b := 0; b < len(dst)/qkK; b++ {
		blk := src[b*210 : b*210+210]
		ql, qh, sc := blk[:128], blk[128:192], blk[192:208]
		d := half(blk[208:])
		y := dst[b*qkK : b*qkK+qkK]
		for n := 0; n < 2; n++ {
			for l := 0; l < 32; l++ {
				is := l / 16
				q1 := int((ql[l]&0x0f)|((qh[l]>>0)&3)<<4) - 32
				q2 := int((ql[l+32]&0x0f)|((qh[l]>>2)&3)<<4) - 32
				q3 := int((ql[l]>>4)|((qh[l]>>4)&3)<<4) - 32
				q4 := int((ql[l+32]>>4)|((qh[l]>>6)&3)<<4) - 32
				y[l] = d * float32(int8(sc[is])) * float32(q1)
				y[l+32] = d * float32(int8(sc[is+2])) * float32(q2)
				y[l+64] = d * float32(int8(sc[is+4])) * float32(q3)
				y[l+96] = d * float32(int8(sc[is+6])) * float32(q4)
			}
			y, ql, qh, sc = y[128:], ql[64:], qh[32:], sc[8:]
		}
	}
}
