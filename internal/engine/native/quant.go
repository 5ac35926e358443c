package native

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

// GGMLType is a ggml tensor element type as stored in GGUF files.
type GGMLType uint32

// Tensor types this package reads (and, for F32/F16/Q8_0, writes).
const (
	TypeF32  GGMLType = 0
	TypeF16  GGMLType = 1
	TypeQ4_0 GGMLType = 2
	TypeQ4_1 GGMLType = 3
	TypeQ5_0 GGMLType = 6
	TypeQ5_1 GGMLType = 7
	TypeQ8_0 GGMLType = 8
	TypeQ2_K GGMLType = 10
	TypeQ3_K GGMLType = 11
	TypeQ4_K GGMLType = 12
	TypeQ5_K GGMLType = 13
	TypeQ6_K GGMLType = 14
	TypeBF16 GGMLType = 30
)

var ggmlTypeNames = map[GGMLType]string{
	0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 9: "Q8_1",
	10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K",
	16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S",
	22: "IQ2_S", 23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64",
	29: "IQ1_M", 30: "BF16", 34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4",
}

func (t GGMLType) String() string {
	if s, ok := ggmlTypeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("type%d", uint32(t))
}

// WritableTypes are the tensor types this package writes (synthetic
// models, `llem model synth`), by their lower-case names.
var WritableTypes = []string{"f32", "f16", "bf16", "q8_0", "q5_1", "q5_0", "q4_1", "q4_0"}

// ParseGGMLType maps a type name (f32, f16, q8_0, …, case-insensitive) to
// a type this package can write.
func ParseGGMLType(s string) (GGMLType, error) {
	switch strings.ToLower(s) {
	case "f32", "":
		return TypeF32, nil
	case "f16":
		return TypeF16, nil
	case "bf16":
		return TypeBF16, nil
	case "q8_0":
		return TypeQ8_0, nil
	case "q5_1":
		return TypeQ5_1, nil
	case "q5_0":
		return TypeQ5_0, nil
	case "q4_1":
		return TypeQ4_1, nil
	case "q4_0":
		return TypeQ4_0, nil
	}
	return 0, fmt.Errorf("unsupported tensor type %q for writing (want %s)", s, strings.Join(WritableTypes, ", "))
}

// blockSize returns elements per block and bytes per block.
func (t GGMLType) blockSize() (int, int, error) {
	switch t {
	case TypeF32:
		return 1, 4, nil
	case TypeF16, TypeBF16:
		return 1, 2, nil
	case TypeQ8_0:
		return 32, 34, nil
	case TypeQ4_0:
		return 32, 18, nil
	case TypeQ4_1:
		return 32, 20, nil
	case TypeQ5_0:
		return 32, 22, nil
	case TypeQ5_1:
		return 32, 24, nil
	case TypeQ2_K:
		return qkK, 84, nil
	case TypeQ3_K:
		return qkK, 110, nil
	case TypeQ4_K:
		return qkK, 144, nil
	case TypeQ5_K:
		return qkK, 176, nil
	case TypeQ6_K:
		return qkK, 210, nil
	}
	return 0, 0, fmt.Errorf("tensor type %s is not supported by the native engine (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K)", t)
}

// rowBytes is the byte length of a row of n elements.
func (t GGMLType) rowBytes(n int) int {
	bs, ts, err := t.blockSize()
	if err != nil {
		return 0
	}
	return n / bs * ts
}

// dequantRow decodes one row of n elements of type t from src into dst.
func dequantRow(t GGMLType, src []byte, dst []float32) {
	n := len(dst)
	switch t {
	case TypeF32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case TypeF16:
		for i := range dst {
			dst[i] = f16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case TypeBF16:
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16)
		}
	case TypeQ8_0:
		for b := 0; b < n/32; b++ {
			blk := src[b*34 : b*34+34]
			d := f16ToF32(binary.LittleEndian.Uint16(blk))
			out := dst[b*32 : b*32+32]
			for j := range out {
				out[j] = float32(int8(blk[2+j])) * d
			}
		}
	case TypeQ4_0:
		for b := 0; b < n/32; b++ {
			blk := src[b*18 : b*18+18]
			d := f16ToF32(binary.LittleEndian.Uint16(blk))
			out := dst[b*32 : b*32+32]
			for j := 0; j < 16; j++ {
				q := blk[2+j]
				out[j] = float32(int(q&0x0f)-8) * d
				out[j+16] = float32(int(q>>4)-8) * d
			}
		}
	case TypeQ4_1:
		dequantQ4_1(src, dst)
	case TypeQ5_0:
		dequantQ5(src, dst, false)
	case TypeQ5_1:
		dequantQ5(src, dst, true)
	case TypeQ2_K:
		dequantQ2K(src, dst)
	case TypeQ3_K:
		dequantQ3K(src, dst)
	case TypeQ4_K:
		dequantQ4K(src, dst)
	case TypeQ5_K:
		dequantQ5K(src, dst)
	case TypeQ6_K:
		dequantQ6K(src, dst)
	default:
		panic("dequantRow: unsupported type " + t.String())
	}
}

// quantRow encodes src into dst as type t (one of WritableTypes), as
// ggml's reference quantisers do, and returns dst.
func quantRow(t GGMLType, src []float32, dst []byte) []byte {
	switch t {
	case TypeF32:
		for _, v := range src {
			dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(v))
		}
	case TypeF16:
		for _, v := range src {
			dst = binary.LittleEndian.AppendUint16(dst, f32ToF16(v))
		}
	case TypeQ8_0:
		for b := 0; b < len(src)/32; b++ {
			blk := src[b*32 : b*32+32]
			var amax float32
			for _, v := range blk {
				amax = max(amax, float32(math.Abs(float64(v))))
			}
			d := amax / 127
			id := float32(0)
			if d != 0 {
				id = 1 / d
			}
			dst = binary.LittleEndian.AppendUint16(dst, f32ToF16(d))
			for _, v := range blk {
				dst = append(dst, byte(int8(math.Round(float64(v*id)))))
			}
		}
	case TypeBF16:
		for _, v := range src {
			dst = binary.LittleEndian.AppendUint16(dst, f32ToBF16(v))
		}
	case TypeQ4_0, TypeQ5_0:
		dst = quantSymmetric(t, src, dst)
	case TypeQ4_1, TypeQ5_1:
		dst = quantWithMin(t, src, dst)
	default:
		panic("quantRow: unsupported type " + t.String())
	}
	return dst
}

// f32ToBF16 rounds to bfloat16, to nearest even, keeping NaNs quiet.
func f32ToBF16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 64
	}
	return uint16((u + 0x7fff + (u>>16)&1) >> 16)
}

// quantSymmetric encodes Q4_0 or Q5_0 blocks: the value of largest
// magnitude maps to −8 (−16), d = max/−8 (−16), q = x/d + 8 (16).
func quantSymmetric(t GGMLType, src []float32, dst []byte) []byte {
	levels := float32(8)
	if t == TypeQ5_0 {
		levels = 16
	}
	for b := 0; b < len(src)/32; b++ {
		blk := src[b*32 : b*32+32]
		var amax, mx float32
		for _, v := range blk {
			if a := float32(math.Abs(float64(v))); amax < a {
				amax, mx = a, v
			}
		}
		d := mx / -levels
		var id float32
		if d != 0 {
			id = 1 / d
		}
		dst = binary.LittleEndian.AppendUint16(dst, f32ToF16(d))
		q := func(v float32) byte { return byte(min(2*levels-1, float32(int8(v*id+levels+0.5)))) }
		dst = appendNibbles(t == TypeQ5_0, blk, q, dst)
	}
	return dst
}

// quantWithMin encodes Q4_1 or Q5_1 blocks: d = (max − min)/15 (31),
// m = min, q = (x − min)/d.
func quantWithMin(t GGMLType, src []float32, dst []byte) []byte {
	top := float32(15)
	if t == TypeQ5_1 {
		top = 31
	}
	for b := 0; b < len(src)/32; b++ {
		blk := src[b*32 : b*32+32]
		lo, hi := float32(math.MaxFloat32), float32(-math.MaxFloat32)
		for _, v := range blk {
			lo, hi = min(lo, v), max(hi, v)
		}
		d := (hi - lo) / top
		var id float32
		if d != 0 {
			id = 1 / d
		}
		dst = binary.LittleEndian.AppendUint16(dst, f32ToF16(d))
		dst = binary.LittleEndian.AppendUint16(dst, f32ToF16(lo))
		q := func(v float32) byte { return byte(min(top, float32(int8((v-lo)*id+0.5)))) }
		dst = appendNibbles(t == TypeQ5_1, blk, q, dst)
	}
	return dst
}

// appendNibbles appends a 32-value block's quants: for five-bit types the
// 32-bit qh of fifth bits first, then 16 bytes of low nibbles (values
// 0..15 low, 16..31 high).
func appendNibbles(fifthBit bool, blk []float32, q func(float32) byte, dst []byte) []byte {
	var qs [16]byte
	var qh uint32
	for j := 0; j < 16; j++ {
		q0, q1 := q(blk[j]), q(blk[j+16])
		qs[j] = q0&0x0f | (q1&0x0f)<<4
		qh |= uint32(q0>>4&1)<<j | uint32(q1>>4&1)<<(j+16)
	}
	if fifthBit {
		dst = binary.LittleEndian.AppendUint32(dst, qh)
	}
	return append(dst, qs[:]...)
}

// f16ToF32 converts an IEEE 754 half-precision value.
func f16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		for mant&0x400 == 0 {
			mant <<= 1
			exp--
		}
		exp++
		mant &= 0x3ff
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}

// f32ToF16 converts to half precision with round-to-nearest-even.
func f32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23&0xff) - 127 + 15
	mant := b & 0x7fffff
	switch {
	case b&0x7fffffff == 0:
		return sign
	case b>>23&0xff == 0xff: // inf or nan
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp >= 0x1f:
		return sign | 0x7c00
	case exp <= 0: // subnormal or zero in half
		if exp < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint(14 - exp)
		h := mant >> shift
		rem := mant & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && h&1 == 1) {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(exp)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++
	}
	return sign | uint16(h)
}
