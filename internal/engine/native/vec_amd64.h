// Macros the Go assembly kernels share (#include "vec_amd64.h").

// BCASTD broadcasts the 32-bit constant C to every lane of Y (X its low
// half). Clobbers AX.
#define BCASTD(C, X, Y) \
	MOVQ C, AX \
	VMOVQ AX, X \
	VPBROADCASTD X, Y

// BYTES80 sets every byte of Y (Y0–Y15) to 0x80: all ones, their absolute
// values (1), doubled, shifted left by 6 within each word.
#define BYTES80(Y) \
	VPCMPEQB Y, Y, Y \
	VPABSB   Y, Y \
	VPADDB   Y, Y, Y \
	VPSLLW   $6, Y, Y

// HSUM8 stores at DST the eight lanes of ACC (Y0–Y15; XACC its low half)
// added as ggml's hsum_float_8 does: ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7)).
// Clobbers X12 and X13. AVX only.
#define HSUM8(ACC, XACC, DST) \
	VEXTRACTF128 $1, ACC, X12 \
	HSUM8HALVES(XACC, DST)

// HSUM8HI is HSUM8 for ACC in Y16–Y31 (AVX-512 VL).
#define HSUM8HI(ACC, XACC, DST) \
	VEXTRACTF32X4 $1, ACC, X12 \
	HSUM8HALVES(XACC, DST)

// HSUM8HALVES finishes HSUM8 from ACC's high half in X12.
#define HSUM8HALVES(XACC, DST) \
	VADDPS    XACC, X12, X12 \
	VMOVHLPS  X12, X12, X13 \
	VADDPS    X13, X12, X12 \
	VMOVSHDUP X12, X13 \
	VADDSS    X13, X12, X12 \
	VMOVSS    X12, DST

// ZERO16TO31 zeroes Y16–Y31 (AVX-512 VL), the tile kernels' accumulators.
#define ZERO16TO31 \
	VPXORD Y16, Y16, Y16 \
	VPXORD Y17, Y17, Y17 \
	VPXORD Y18, Y18, Y18 \
	VPXORD Y19, Y19, Y19 \
	VPXORD Y20, Y20, Y20 \
	VPXORD Y21, Y21, Y21 \
	VPXORD Y22, Y22, Y22 \
	VPXORD Y23, Y23, Y23 \
	VPXORD Y24, Y24, Y24 \
	VPXORD Y25, Y25, Y25 \
	VPXORD Y26, Y26, Y26 \
	VPXORD Y27, Y27, Y27 \
	VPXORD Y28, Y28, Y28 \
	VPXORD Y29, Y29, Y29 \
	VPXORD Y30, Y30, Y30 \
	VPXORD Y31, Y31, Y31
