package native

import "encoding/binary"

// Repacked Q4_0: llama.cpp's AVX2 build repacks every Q4_0 matrix whose
// row count is a multiple of 8 into block_q4_0x8 (ggml's repack.cpp,
// repack_q4_0_to_q4_0_8_bl with interleave 8) and multiplies it with
// ggml_gemv_q4_0_8x8_q8_0 / ggml_gemm_q4_0_8x8_q8_0. llem keeps the same
// layout for the same matrices (matrix.x8), so that the integer kernel
// reads one sequential stream per 8 rows and shares each activation block
// among them.
//
// One block_q4_0x8 (144 bytes) holds block b of rows 8g…8g+7: their 8 f16
// scales, then 16 chunks of 8 bytes, chunk i being bytes (i/8)·8…(i/8)·8+7
// of row i%8's nibbles, each byte XORed with 0x88 (the nibble u, whose
// value is u−8, becomes the 4-bit two's complement of u−8). The blocks of
// a row group follow each other, and the groups follow each other, so the
// group of rows 8g… starts at byte 8g·rowBytes as in the file.
//
// The float order is ggml's for both its repacked gemv and gemm: each
// block's integer sum converted and fused into the row's accumulator with
// dw·dx, block after block (dotQ40Q8's), so one kernel serves decode and
// prefill alike.

// q40x8Block is the size of one block_q4_0x8.
const q40x8Block = 8 * 18

// repackQ40x8 returns the Q4_0 rows of w (rows a multiple of 8, cols of
// 32) laid out as ggml's block_q4_0x8.
func repackQ40x8(w []byte, rows, cols int) []byte {
	nb := cols / 32
	rb := nb * 18
	out := make([]byte, rows*rb)
	o := 0
	for g := 0; g < rows; g += 8 {
		for b := range nb {
			for i := range 8 {
				copy(out[o+2*i:o+2*i+2], w[(g+i)*rb+b*18:])
			}
			for i := range 16 {
				src := w[(g+i%8)*rb+b*18+2+(i/8)*8:]
				dst := out[o+16+8*i : o+16+8*i+8]
				for j := range 8 {
					dst[j] = src[j] ^ 0x88
				}
			}
			o += q40x8Block
		}
	}
	return out
}

// q8BlockSums sets sums[b] to the sum of the Q8_0 values of block b of qs
// (the term 8·Σx that the repacked kernel takes off its unsigned
// nibble products).
func q8BlockSums(qs []byte, sums []int32) {
	for b := range sums {
		var s int32
		for _, v := range qs[b*32 : b*32+32] {
			s += int32(int8(v))
		}
		sums[b] = s
	}
}

// gemvQ40x8Portable sets y[r] to the dot product of row r of the
// repacked Q4_0 matrix w (rows a multiple of 8) with the Q8_0 activations
// qs, ds, for r < rows, in the float order of dotQ40Q8 (and ggml's).
func gemvQ40x8Portable(w, qs []byte, ds, y []float32, rows, cols int) {
	nb := cols / 32
	for g := 0; g < rows; g += 8 {
		var acc [8]float32
		for b := range nb {
			blk := w[(g/8*nb+b)*q40x8Block:][:q40x8Block]
			q := qs[b*32 : b*32+32]
			for r := range 8 {
				var s int32
				for h := range 2 { // bytes 0…7, then 8…15 of the row
					c := blk[16+64*h+8*r:][:8]
					for j := range 8 {
						v := c[j] ^ 0x88
						s += (int32(v&15) - 8) * int32(int8(q[8*h+j]))
						s += (int32(v>>4) - 8) * int32(int8(q[16+8*h+j]))
					}
				}
				d := f16ToF32(binary.LittleEndian.Uint16(blk[2*r:])) * ds[b]
				acc[r] = fma32(float32(s), d, acc[r])
			}
		}
		copy(y[g:g+8], acc[:])
	}
}

// repackQ40 gives every Q4_0 matrix the model multiplies (not the
// embedding table, unless the output shares it) whose rows are a multiple
// of 8 its repacked copy, once, for the integer kernels (newRunner calls
// it for kernel sets that have them, when Q4_0 is on the integer path:
// intQ8ByDefault). The raw rows stay for the float
// paths (simd-float, portable, embedding lookups); when they are a file
// mapping, their pages are handed back to the kernel (release), to be
// read in again only if a float path touches them.
func (m *Model) repackQ40() {
	m.repackOnce.Do(func() {
		do := func(w *matrix, release bool) {
			if w.typ != TypeQ4_0 || w.rows%8 != 0 || w.cols%32 != 0 || w.x8 != nil {
				return
			}
			w.x8 = repackQ40x8(w.raw, w.rows, w.cols)
			if release && m.gguf != nil {
				m.gguf.release(w.raw)
			}
		}
		do(&m.output, !m.Shape.TiedOutput) // a tied output's rows are the embeddings
		for i := range m.layers {
			l := &m.layers[i]
			for _, w := range []*matrix{&l.wq, &l.wk, &l.wv, &l.wo, &l.wGate, &l.wUp, &l.wDown} {
				do(w, true)
			}
		}
	})
}

// gemmQ40x8Portable is gemvQ40x8Portable for n activation rows
// (consecutive in qs, ds), row b's results at y[b·ystride:].
func gemmQ40x8Portable(w, qs []byte, ds []float32, _ []int32, y []float32, n, ystride, rows, cols int) {
	for b := range n {
		gemvQ40x8Portable(w, qs[b*cols:], ds[b*cols/32:], y[b*ystride:], rows, cols)
	}
}
