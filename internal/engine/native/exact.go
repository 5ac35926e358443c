package native

import "math"

// This file holds the scalar arithmetic the forward pass shares with
// llama.cpp's CPU build bit for bit: float32 fused multiply-adds (as GCC
// contracts ggml's C and as its AVX2 intrinsics compute), ggml_v_expf with
// its FMAs, and glibc's sinf/cosf (the x86-64 FMA variants, which are not
// correctly rounded) for the RoPE tables.

// fma32 returns a·b+c rounded once to float32, as VFMADD…SS computes it
// (the portable kernels' stand-in for the FMAs of ggml's AVX2 code).
// a·b is exact in float64, so p+c rounded to float64 is the float64 FMA;
// rounding that to float32 again is wrong only when it lands exactly on a
// float32 midpoint, in which case the exact remainder of the addition
// (TwoSum) says which way to round.
func fma32(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	s := p + float64(c)
	bits := math.Float64bits(s)
	if bits&(1<<29-1) == 1<<28 && s == s {
		bb := s - p
		e := (p - (s - bb)) + (float64(c) - bb)
		if e != 0 {
			if (e > 0) == (s > 0) {
				bits++
			} else {
				bits--
			}
			s = math.Float64frombits(bits)
		}
	}
	return float32(s)
}

// ggml_v_expf's constants (ARM's optimized routines' expf, as ggml
// vectorises it): e^x = 2^n·(1 + p(b)) with b = x − n·ln2 in two parts.
const (
	expfShift = 0x1.8p23
	expfLog2e = 0x1.715476p+0
	expfLn2Hi = 0x1.62e4p-1
	expfLn2Lo = 0x1.7f7d1cp-20
	expfC0    = 0x1.0e4020p-7
	expfC1    = 0x1.573e2ep-5
	expfC2    = 0x1.555e66p-3
	expfC3    = 0x1.fffdb6p-2
	expfC4    = 0x1.ffffecp-1
)

// expf is e^x in float32 exactly as one lane of ggml's AVX2 ggml_v_expf
// computes it (llama.cpp's softmax and SiLU), FMAs included, and its
// handling of |n| > 126 (underflow to zero and overflow to +Inf through
// the scale factors s1, s2).
func expf(x float32) float32 {
	z := fma32(x, expfLog2e, expfShift)
	n := z - expfShift
	b := fma32(-n, expfLn2Hi, x)
	b = fma32(-n, expfLn2Lo, b)
	e := math.Float32bits(z) << 23
	k := math.Float32frombits(e + math.Float32bits(1))
	u := b * b
	j := fma32(fma32(fma32(expfC0, b, expfC1), u, fma32(expfC2, b, expfC3)), u, expfC4*b)
	an := float32(math.Abs(float64(n)))
	if !(an > 126) {
		return fma32(j, k, k)
	}
	var g uint32
	if n <= 0 {
		g = 0x82000000
	}
	s1 := math.Float32frombits(g + 0x7f000000)
	s2 := math.Float32frombits(e - g)
	if an > 192 {
		return s1 * s1
	}
	return fma32(s2, j, s2) * s1
}

// softmaxPortable is ggml_compute_forward_soft_max_f32's row computation
// for a row as llama.cpp's causal mask pads it to the KV cache's 256-cell
// granularity (cells past the row count as −Inf, exponential 0): the exponentials of each 8 (expf) summed in float32 as
// its hsum does (hsum8, as tinyBLAS's and hsum_float_8), those sums added in
// float64, the row scaled by float32(1/sum).
func softmaxPortable(x []float32) {
	mx := x[0]
	for _, v := range x {
		mx = max(mx, v)
	}
	var sum float64
	for i := 0; i < len(x); i += 8 {
		var e [8]float32
		for l := range e {
			if i+l < len(x) { // past the row: a masked cell, e^−Inf = 0
				e[l] = expf(x[i+l] - mx)
				x[i+l] = e[l]
			}
		}
		sum += float64(hsum8(&e))
	}
	inv := float32(1 / sum)
	for i := range x {
		x[i] *= inv
	}
}

// reduce32 is GGML_F32x8_REDUCE over ggml_vec_dot_f32's four 8-lane
// accumulators, lane l of accumulator a holding the sum of the products
// p ≡ 8a+l (mod 32): (a0+a2)+(a1+a3), high half plus low, then two
// horizontal adds.
func reduce32(s *[32]float32) float32 {
	var t [8]float32
	for l := range t {
		t[l] = (s[l] + s[16+l]) + (s[8+l] + s[24+l])
	}
	u0, u1, u2, u3 := t[0]+t[4], t[1]+t[5], t[2]+t[6], t[3]+t[7]
	return (u0 + u1) + (u2 + u3)
}

// dotGGML is ggml_vec_dot_f32 on AVX2: products p < n−n%32 fused into
// lane p%32 of four 8-lane accumulators, reduced by reduce32, then the
// rest added to that float32 sum in order as GCC compiled its scalar
// loop (vectorised): products rounded and added one by one in groups of
// 8, then of 4, the last n%4 fused.
func dotGGML(a, b []float32) float32 {
	b = b[:len(a)]
	var s [32]float32
	np := len(a) &^ 31
	for p := 0; p < np; p++ {
		s[p&31] = fma32(a[p], b[p], s[p&31])
	}
	sum := reduce32(&s)
	p := np
	for ; len(a)-p >= 8; p += 8 {
		for _, i := range [8]int{0, 1, 2, 3, 4, 5, 6, 7} {
			sum += a[p+i] * b[p+i]
		}
	}
	if len(a)-p >= 4 {
		for _, i := range [4]int{0, 1, 2, 3} {
			sum += a[p+i] * b[p+i]
		}
		p += 4
	}
	for ; p < len(a); p++ {
		sum = fma32(a[p], b[p], sum)
	}
	return sum
}

// glibc's sinf/cosf (sysdeps/ieee754/flt-32, from ARM's optimized
// routines; x86-64 runs its FMA build, whose multiply-adds GCC fuses):
// double-precision polynomials after a reduction by π/2, single-step below
// 120, through 4/π to 192 bits above.
var (
	sincosfSign = [4]float64{1, -1, -1, 1}
	// 4/π, 8 new bits per entry.
	sincosfInvPio4 = [24]uint32{
		0xa2, 0xa2f9, 0xa2f983, 0xa2f9836e,
		0xf9836e4e, 0x836e4e44, 0x6e4e4415, 0x4e441529,
		0x441529fc, 0x1529fc27, 0x29fc2757, 0xfc2757d1,
		0x2757d1f5, 0x57d1f534, 0xd1f534dd, 0xf534ddc0,
		0x34ddc0db, 0xddc0db62, 0xc0db6295, 0xdb629599,
		0x6295993c, 0x95993c43, 0x993c4390, 0x3c439041,
	}
)

const (
	sincosfHpiInv = 0x1.45F306DC9C883p+23 // 2/π·2^24
	sincosfHpi    = 0x1.921FB54442D18p0
	sincosfPi63   = 0x1.921FB54442D18p-62
	sincosfPio4   = 0x1.921FB54442D18p-1
	sincosfC0     = 0x1p0
	sincosfC1     = -0x1.ffffffd0c621cp-2
	sincosfC2     = 0x1.55553e1068f19p-5
	sincosfC3     = -0x1.6c087e89a359dp-10
	sincosfC4     = 0x1.99343027bf8c3p-16
	sincosfS1     = -0x1.555545995a603p-3
	sincosfS2     = 0x1.1107605230bc4p-7
	sincosfS3     = -0x1.994eb3774cf24p-13
)

func abstop12(x float32) uint32 { return (math.Float32bits(x) >> 20) & 0x7ff }

// sincosfPoly is glibc's sinf_poly: the sine polynomial for even n, the
// cosine one (negated when neg) for odd n.
func sincosfPoly(x, x2 float64, neg bool, n int) float32 {
	if n&1 == 0 {
		x3 := x * x2
		s1 := math.FMA(x2, sincosfS3, sincosfS2)
		x7 := x3 * x2
		s := math.FMA(x3, sincosfS1, x)
		return float32(math.FMA(x7, s1, s))
	}
	c0, c1, c2, c3, c4 := sincosfC0, sincosfC1, sincosfC2, sincosfC3, sincosfC4
	if neg {
		c0, c1, c2, c3, c4 = -c0, -c1, -c2, -c3, -c4
	}
	x4 := x2 * x2
	cc2 := math.FMA(x2, c4, c3)
	cc1 := math.FMA(x2, c1, c0)
	x6 := x4 * x2
	c := math.FMA(x4, c2, cc1)
	return float32(math.FMA(x6, cc2, c))
}

// sincosfReduce reduces y (|y| ≥ π/4, finite) to x in [−π/4, π/4] and
// the quadrant n, including y's sign in n for large y (sgn).
func sincosfReduce(y float32) (x float64, n int, large bool) {
	if abstop12(y) < abstop12(120) {
		r := float64(y) * sincosfHpiInv
		n = int((int32(r) + 0x800000) >> 24)
		return math.FMA(-float64(n), sincosfHpi, float64(y)), n, false
	}
	xi := math.Float32bits(y)
	arr := sincosfInvPio4[(xi>>26)&15:]
	shift := (xi >> 23) & 7
	xi = (xi&0xffffff | 0x800000) << shift
	res0 := uint64(xi * arr[0])
	res1 := uint64(xi) * uint64(arr[4])
	res2 := uint64(xi) * uint64(arr[8])
	res0 = res2>>32 | res0<<32
	res0 += res1
	nn := (res0 + 1<<61) >> 62
	res0 -= nn << 62
	return float64(int64(res0)) * sincosfPi63, int(nn), true
}

// sinf is glibc's sinf for finite y.
func sinf(y float32) float32 {
	x := float64(y)
	if abstop12(y) < abstop12(sincosfPio4) {
		if abstop12(y) < abstop12(0x1p-12) {
			return y
		}
		return sincosfPoly(x, x*x, false, 0)
	}
	x, s, q, n := sincosfQuadrant(y)
	return sincosfPoly(x*s, x*x, q&2 != 0, n)
}

// cosf is glibc's cosf for finite y.
func cosf(y float32) float32 {
	x := float64(y)
	if abstop12(y) < abstop12(sincosfPio4) {
		if abstop12(y) < abstop12(0x1p-12) {
			return 1
		}
		return sincosfPoly(x, x*x, false, 1)
	}
	x, s, q, n := sincosfQuadrant(y)
	return sincosfPoly(x*s, x*x, q&2 != 0, n^1)
}

// sincosfQuadrant is the reduction sinf and cosf share for |y| ≥ π/4: the
// reduced argument x, the sign s to apply to it, the quadrant q and n.
func sincosfQuadrant(y float32) (x, s float64, q, n int) {
	x, n, large := sincosfReduce(y)
	q = n
	if large {
		q += int(math.Float32bits(y) >> 31)
	}
	return x, sincosfSign[q&3], q, n
}
