package native

import "unsafe"

// Implemented in exact_amd64.s (AVX2 + FMA), each bit for bit the
// computation of the portable function named in its wrapper.
//
//go:noescape
func softmaxAVX2(x *float32, n int)

//go:noescape
func swigluAVX2(gate, up *float32, n int)

//go:noescape
func attnScoresGGMLAVX2(q, k *float32, stride, n, hd int, scale float32, out *float32)

//go:noescape
func attnValuesLanesAVX2(a, v *float32, stride, n, hd, lanes int, out, buf *float32)

// softmaxSIMD is softmaxPortable (rows a positive multiple of 8 long).
func softmaxSIMD(x []float32) {
	if len(x) == 0 || len(x)%8 != 0 {
		softmaxPortable(x)
		return
	}
	softmaxAVX2(unsafe.SliceData(x), len(x))
}

// swigluSIMD is swigluPortable: ggml's AVX2 loop over whole groups of 8,
// the scalar expression on the rest.
func swigluSIMD(g, u []float32) {
	n := len(g) &^ 7
	if n > 0 {
		u = u[:len(g)]
		swigluAVX2(unsafe.SliceData(g), unsafe.SliceData(u), n)
	}
	swigluPortable(g[n:], u[n:])
}

// attnScoresSIMD is attnScoresPortable.
func attnScoresSIMD(q, k []float32, stride int, scale float32, out []float32) {
	hd, n := len(q), len(out)
	if n == 0 || hd == 0 {
		return
	}
	_ = k[(n-1)*stride+hd-1]
	attnScoresGGMLAVX2(unsafe.SliceData(q), unsafe.SliceData(k), stride, n, hd, scale, unsafe.SliceData(out))
}

// attnValuesSIMD is attnValuesPortable.
func attnValuesSIMD(a, v []float32, stride, lanes int, out []float32) {
	hd, n := len(out), len(a)
	if hd%8 != 0 || n == 0 || (lanes != 8 && lanes != 32) {
		attnValuesPortable(a, v, stride, lanes, out)
		return
	}
	_ = v[(n-1)*stride+hd-1]
	var buf [256]float32
	attnValuesLanesAVX2(unsafe.SliceData(a), unsafe.SliceData(v), stride, n, hd, lanes, unsafe.SliceData(out), &buf[0])
}
