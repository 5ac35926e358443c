package native

import (
	"encoding/binary"
	"math"
)

// Integer Q8_0 path: as llama.cpp does for Q8_0 weights, the activation row
// is quantised once per matrix product into Q8_0 blocks (32 int8 values and
// one scale), and each weight block's dot product with it is computed in
// integers and scaled once by the product of the two block scales.

// quantizeQ8Acts quantises x (len a multiple of 32) into Q8_0 values qs and
// block scales ds as ggml's AVX2 quantize_row_q8_0 does: d = max|x|/127
// rounded to f16, q = round-half-even(x·127/max|x|). ds holds the f16
// scales widened to float32.
func quantizeQ8Acts(x []float32, qs []byte, ds []float32) { quantizeQ8ActsSums(x, qs, ds, nil) }

// quantizeQ8ActsSums is quantizeQ8Acts that, when ss is not nil, also
// sets ss[b] to block b's Q8_1 sum as ggml's AVX2 quantize_row_q8_1 does:
// (max|x|/127)·Σq rounded to f16 (Q8_1's values and scale are Q8_0's).
func quantizeQ8ActsSums(x []float32, qs []byte, ds, ss []float32) {
	nb := len(x) / 32
	qs, ds = qs[:nb*32], ds[:nb]
	for b := range nb {
		blk := x[b*32 : b*32+32]
		var amax float32
		for _, v := range blk {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		ds[b] = f16ToF32(f32ToF16(amax / 127))
		var id float32
		if amax != 0 {
			id = 127 / amax
		}
		q := qs[b*32 : b*32+32]
		var sum int32
		for i, v := range blk {
			q[i] = byte(int8(math.RoundToEven(float64(v * id))))
			sum += int32(int8(q[i]))
		}
		if ss != nil {
			ss[b] = f16ToF32(f32ToF16(amax / 127 * float32(sum)))
		}
	}
}

// dotQ8Q8 is the portable dot product of nb Q8_0 weight blocks (34 bytes:
// f16 scale, 32 int8) with quantised activations qs, ds, in the order of
// ggml_vec_dot_q8_0_q8_0 on AVX2: each block's products summed in eight
// lanes of four, fused into eight accumulators with dw·dx, hsum8 at the end.
func dotQ8Q8(w, qs []byte, ds []float32, nb int) float32 {
	var acc [8]float32
	for b := range nb {
		blk := w[b*34 : b*34+34]
		q := qs[b*32 : b*32+32]
		d := f16ToF32(binary.LittleEndian.Uint16(blk)) * ds[b]
		for l := range acc {
			var s int32
			for i := 4 * l; i < 4*l+4; i++ {
				s += int32(int8(blk[2+i])) * int32(int8(q[i]))
			}
			acc[l] = fma32(d, float32(s), acc[l])
		}
	}
	return hsum8(&acc)
}

// gemvQ8Q8Portable sets y[r] to the dot product of Q8_0 weight row r with
// the quantised activations, for r < rows.
func gemvQ8Q8Portable(w, qs []byte, ds, y []float32, rows, cols int) {
	nb := cols / 32
	rb := nb * 34
	for r := range rows {
		y[r] = dotQ8Q8(w[r*rb:(r+1)*rb], qs, ds, nb)
	}
}
