package native

import "encoding/binary"

// Repacked Q4_K: llama.cpp's AVX2 build repacks every Q4_K matrix whose
// row count is a multiple of 8 into block_q4_Kx8 (ggml's repack.cpp,
// repack_q4_K_to_q4_K_8_bl), so that its gemv (ggml_gemv_q4_K_8x8_q8_K)
// gets the eight rows' integer sums in vector lanes without transposing
// them. llem keeps such a copy too (matrix.x8), in a layout of its own
// with the same purpose and the same size, 1152 bytes per super-block of
// eight rows:
//
//   - bytes 0…15: the eight rows' d (f16), 16…31 their dmin;
//   - bytes 32…127: the 128 6-bit scales and minimums, value i being, for
//     row k and sub-block s, sc(s, k) at i = 8s+k, m(s, k) at
//     i = 64 + 32·(s%2) + 8·(s/2) + k; byte i (i < 32) holds the low
//     nibbles of values i and 64+i, byte 32+i those of 32+i and 96+i, and
//     byte 64+i the top two bits of values i, 32+i, 64+i and 96+i in its
//     bits 0–1, 2–3, 4–5 and 6–7 (one 256-bit pass unpacks them);
//   - bytes 128…1151: the nibbles, 256 bytes per 64-value step j, chunk c
//     of a step (32 bytes) holding bytes 4c…4c+3 of each of the eight
//     rows' 32 bytes of the step, row k at 4k.
//
// The blocks of a group of eight rows follow each other, and the groups
// follow each other, so the group of rows 8g… starts at byte 8g·rowBytes
// as in the file. Every integer sum is exact, so the float order stays
// dotQ4KQ8KRepack's (and ggml's): the kernels over the copy give the row
// kernels' results bit for bit.

// q4Kx8Block is the size of one repacked super-block of eight rows.
const q4Kx8Block = 8 * 144

// q4Kx8Index is the index, in the repacked scale bytes, of row k's scale
// (min false) or minimum of sub-block s.
func q4Kx8Index(s, k int, min bool) int {
	if !min {
		return 8*s + k
	}
	return 64 + 32*(s%2) + 8*(s/2) + k
}

// repackQ4Kx8 returns the Q4_K rows of w (rows a multiple of 8, cols of
// 256) in the repacked layout.
func repackQ4Kx8(w []byte, rows, cols int) []byte {
	nb := cols / qkK
	rb := nb * 144
	out := make([]byte, rows*rb)
	o := 0
	var v [128]byte
	for g := 0; g < rows; g += 8 {
		for b := range nb {
			dst := out[o : o+q4Kx8Block]
			for k := range 8 {
				blk := w[(g+k)*rb+b*144:][:144]
				copy(dst[2*k:2*k+2], blk[0:2])
				copy(dst[16+2*k:16+2*k+2], blk[2:4])
				for s := range 8 {
					sc, mn := scaleMinK4Int(s, blk[4:16])
					v[q4Kx8Index(s, k, false)] = byte(sc)
					v[q4Kx8Index(s, k, true)] = byte(mn)
				}
				for j := range 4 {
					for c := range 8 {
						copy(dst[128+256*j+32*c+4*k:][:4], blk[16+32*j+4*c:][:4])
					}
				}
			}
			for i := range 32 {
				dst[32+i] = v[i]&15 | v[64+i]<<4
				dst[64+i] = v[32+i]&15 | v[96+i]<<4
				dst[96+i] = v[i]>>4 | v[32+i]>>4<<2 | v[64+i]>>4<<4 | v[96+i]>>4<<6
			}
			o += q4Kx8Block
		}
	}
	return out
}

// q4Kx8Value is value i of the repacked scale bytes p (96 bytes).
func q4Kx8Value(p []byte, i int) int32 {
	lo := p[i%64] >> (4 * (i / 64)) & 15
	hi := p[64+i%32] >> (2 * (i / 32)) & 3
	return int32(lo | hi<<4)
}

// gemvQ4Kx8Portable sets y[r] to the dot product of row r of the
// repacked Q4_K matrix w (rows a multiple of 8) with the Q8_K activations
// qs, ds, bs, for r < rows, as dotQ4KQ8KRepack computes it (perSub: in
// qkOrderSub, else in qkOrderBlock).
func gemvQ4Kx8Portable(perSub bool, w, qs []byte, ds []float32, bs []int16, y []float32, rows, cols int) {
	nb := cols / qkK
	for g := 0; g < rows; g += 8 {
		for k := range 8 {
			acc := q4kRepackAcc{perSub: perSub}
			for b := range nb {
				blk := w[(g/8*nb+b)*q4Kx8Block:][:q4Kx8Block]
				q8 := qs[b*qkK : (b+1)*qkK]
				bsum := bs[b*16 : (b+1)*16]
				d := f16ToF32(binary.LittleEndian.Uint16(blk[2*k:])) * ds[b]
				dmin := f16ToF32(binary.LittleEndian.Uint16(blk[16+2*k:])) * ds[b]
				for j := range 4 {
					sc0, sc1 := q4Kx8Value(blk[32:], q4Kx8Index(2*j, k, false)), q4Kx8Value(blk[32:], q4Kx8Index(2*j+1, k, false))
					m0, m1 := q4Kx8Value(blk[32:], q4Kx8Index(2*j, k, true)), q4Kx8Value(blk[32:], q4Kx8Index(2*j+1, k, true))
					var sl, sh int32
					for c := range 8 {
						q4 := blk[128+256*j+32*c+4*k:][:4]
						for e := range 4 {
							sl += int32(q4[e]&15) * int32(int8(q8[64*j+4*c+e]))
							sh += int32(q4[e]>>4) * int32(int8(q8[64*j+32+4*c+e]))
						}
					}
					acc.step(sc0*sl+sc1*sh, q4kMinTerm(m0, m1, bsum, j), d, dmin)
				}
				acc.endBlock(d, dmin)
			}
			y[g+k] = acc.result()
		}
	}
}

// repackQ4K gives every Q4_K matrix the model multiplies (not the
// embedding table, unless the output shares it) whose rows are a multiple
// of 8 and columns of 256 its repacked copy, once, for the integer
// kernels (newRunner calls it for kernel sets that have gemmQ4Kx8). The
// raw rows stay for the float paths; a file mapping's pages are handed
// back to the kernel as repackQ40 does, so the weights are not held twice.
func (m *Model) repackQ4K() {
	m.repackKOnce.Do(func() {
		do := func(w *matrix, release bool) {
			if w.typ != TypeQ4_K || w.rows%8 != 0 || w.cols%qkK != 0 || w.x8 != nil {
				return
			}
			w.x8 = repackQ4Kx8(w.raw, w.rows, w.cols)
			if release && m.gguf != nil {
				m.gguf.release(w.raw)
			}
		}
		do(&m.output, !m.Shape.TiedOutput)
		for i := range m.layers {
			l := &m.layers[i]
			for _, w := range []*matrix{&l.wq, &l.wk, &l.wv, &l.wo, &l.wGate, &l.wUp, &l.wDown} {
				do(w, true)
			}
		}
	})
}

// gemmQ4Kx8Portable is gemvQ4Kx8Portable for nact activation rows
// (consecutive in qs, ds, bs), row a's results at y[a·ystride:].
func gemmQ4Kx8Portable(perSub bool, w, qs []byte, ds []float32, bs []int16, y []float32, rows, cols, nact, ystride int) {
	nb := cols / qkK
	for a := range nact {
		gemvQ4Kx8Portable(perSub, w, qs[a*cols:], ds[a*nb:], bs[a*nb*16:], y[a*ystride:], rows, cols)
	}
}
