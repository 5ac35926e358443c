#include "textflag.h"
#include "vec_amd64.h"

// q8perm undoes the lane interleaving of VPACKSSDW/VPACKSSWB.
DATA q8perm<>+0(SB)/4, $0
DATA q8perm<>+4(SB)/4, $4
DATA q8perm<>+8(SB)/4, $1
DATA q8perm<>+12(SB)/4, $5
DATA q8perm<>+16(SB)/4, $2
DATA q8perm<>+20(SB)/4, $6
DATA q8perm<>+24(SB)/4, $3
DATA q8perm<>+28(SB)/4, $7
GLOBL q8perm<>(SB), RODATA|NOPTR, $32

// func quantizeQ8AVX2(x *float32, qs *byte, ds, ss *float32, nblocks int)
// Quantises nblocks blocks of 32 floats to Q8_0 as ggml's AVX2
// quantize_row_q8_0 does: d = max|x|/127 rounded to f16 (stored widened
// back to float32 in ds), q = round-half-even(x·(127/max|x|)), packed with
// signed saturation. When ss is not nil, also ss[b] = f16(d·Σq) widened, as
// quantize_row_q8_1 computes each block's sum.
TEXT ·quantizeQ8AVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ qs+8(FP), DI
	MOVQ ds+16(FP), DX
	MOVQ ss+24(FP), R9
	MOVQ nblocks+32(FP), CX
	BCASTD($0x7fffffff, X15, Y15) // |x| mask
	MOVL $0x42fe0000, AX  // 127.0
	VMOVD AX, X14
	VMOVDQU q8perm<>(SB), Y13

qzblk:
	TESTQ CX, CX
	JE    qzdone
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VANDPS Y15, Y0, Y4
	VANDPS Y15, Y1, Y5
	VMAXPS Y5, Y4, Y4
	VANDPS Y15, Y2, Y5
	VMAXPS Y5, Y4, Y4
	VANDPS Y15, Y3, Y5
	VMAXPS Y5, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VMAXPS X5, X4, X4
	VMOVHLPS X4, X4, X5
	VMAXPS X5, X4, X4
	VMOVSHDUP X4, X5
	VMAXSS X5, X4, X4 // max|x| in X4

	// d = f16(max/127), stored widened; id = 127/max (0 for a zero block).
	VDIVSS X14, X4, X5
	VCVTPS2PH $0, X5, X6
	VCVTPH2PS X6, X6
	VMOVSS X6, (DX)
	VXORPS X7, X7, X7
	VUCOMISS X7, X4
	JE    qzzero
	VDIVSS X4, X14, X7

qzzero:
	VBROADCASTSS X7, Y7
	VMULPS Y7, Y0, Y0
	VMULPS Y7, Y1, Y1
	VMULPS Y7, Y2, Y2
	VMULPS Y7, Y3, Y3
	VROUNDPS $0, Y0, Y0
	VROUNDPS $0, Y1, Y1
	VROUNDPS $0, Y2, Y2
	VROUNDPS $0, Y3, Y3
	VCVTPS2DQ Y0, Y0
	VCVTPS2DQ Y1, Y1
	VCVTPS2DQ Y2, Y2
	VCVTPS2DQ Y3, Y3
	TESTQ R9, R9
	JE    qzpack

	// Σq as hsum_i32_8 of the four vectors' sum, times d (unrounded).
	VPADDD Y1, Y0, Y8
	VPADDD Y3, Y2, Y9
	VPADDD Y9, Y8, Y8
	VEXTRACTI128 $1, Y8, X9
	VPADDD X9, X8, X8
	VPSHUFD $0x4e, X8, X9
	VPADDD X9, X8, X8
	VPSHUFD $0xb1, X8, X9
	VPADDD X9, X8, X8
	VCVTDQ2PS X8, X8
	VMULSS X8, X5, X8
	VCVTPS2PH $0, X8, X8
	VCVTPH2PS X8, X8
	VMOVSS X8, (R9)
	ADDQ $4, R9

qzpack:
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD Y0, Y13, Y0
	VMOVDQU Y0, (DI)
	ADDQ $128, SI
	ADDQ $32, DI
	ADDQ $4, DX
	DECQ CX
	JMP  qzblk

qzdone:
	VZEROUPPER
	RET

// func quantizeQ8KAVX2(x *float32, qs *byte, ds *float32, bs *int16, nblocks int)
// Quantises nblocks super-blocks of 256 floats to Q8_K as ggml's
// quantize_row_q8_K_ref does: max the value of largest magnitude (the first
// on ties), iscale = −127/max, q = min(127, round-half-even(iscale·x)) (the
// signed saturation of VPACKSSWB), 16-value sums, d = 1/iscale; an all-zero
// block gives zeros.
TEXT ·quantizeQ8KAVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ qs+8(FP), DI
	MOVQ ds+16(FP), DX
	MOVQ bs+24(FP), R9
	MOVQ nblocks+32(FP), CX
	BCASTD($0x7fffffff, X15, Y15) // |x| mask
	MOVL $0xc2fe0000, AX  // −127.0
	VMOVD AX, X14
	MOVL $0x3f800000, AX  // 1.0
	VMOVD AX, X12
	VMOVDQU q8perm<>(SB), Y13

qkblk:
	TESTQ CX, CX
	JE    qkdone

	// max|x| over the 32 vectors.
	VANDPS (SI), Y15, Y4
	XORQ AX, AX

qkmax:
	ADDQ $32, AX
	CMPQ AX, $1024
	JE   qkmaxred
	VANDPS (SI)(AX*1), Y15, Y5
	VMAXPS Y5, Y4, Y4
	JMP  qkmax

qkmaxred:
	VEXTRACTF128 $1, Y4, X5
	VMAXPS X5, X4, X4
	VMOVHLPS X4, X4, X5
	VMAXPS X5, X4, X4
	VMOVSHDUP X4, X5
	VMAXSS X5, X4, X4
	VXORPS X5, X5, X5
	VUCOMISS X5, X4
	JNE  qknonzero

	// An all-zero block.
	MOVL $0, (DX)
	VPXOR Y0, Y0, Y0
	MOVQ $0, AX

qkzero:
	VMOVDQU Y0, (DI)(AX*1)
	ADDQ $32, AX
	CMPQ AX, $256
	JL   qkzero
	VMOVDQU Y0, (R9)
	JMP  qknext

qknonzero:
	// The first value whose magnitude is the maximum.
	VBROADCASTSS X4, Y4
	XORQ AX, AX

qkfind:
	VANDPS (SI)(AX*1), Y15, Y5
	VCMPPS $0, Y4, Y5, Y5
	VMOVMSKPS Y5, BX
	TESTL BX, BX
	JNE  qkfound
	ADDQ $32, AX
	JMP  qkfind

qkfound:
	BSFL BX, BX
	LEAQ (AX)(BX*4), AX
	VMOVSS (SI)(AX*1), X5 // max, signed
	VDIVSS X5, X14, X6    // iscale = −127/max
	VDIVSS X6, X12, X7    // d = 1/iscale
	VMOVSS X7, (DX)
	VBROADCASTSS X6, Y6
	XORQ AX, AX
	XORQ BX, BX

qkchunk:
	// 32 values: quantised, packed in order, and their two 16-value sums.
	VMULPS (SI)(AX*4), Y6, Y0
	VMULPS 32(SI)(AX*4), Y6, Y1
	VMULPS 64(SI)(AX*4), Y6, Y2
	VMULPS 96(SI)(AX*4), Y6, Y3
	VROUNDPS $0, Y0, Y0
	VROUNDPS $0, Y1, Y1
	VROUNDPS $0, Y2, Y2
	VROUNDPS $0, Y3, Y3
	VCVTPS2DQ Y0, Y0
	VCVTPS2DQ Y1, Y1
	VCVTPS2DQ Y2, Y2
	VCVTPS2DQ Y3, Y3
	VPACKSSDW Y1, Y0, Y8
	VPACKSSDW Y3, Y2, Y9
	VPACKSSWB Y9, Y8, Y8
	VPERMD Y8, Y13, Y8
	VMOVDQU Y8, (DI)(AX*1)

	// The sums of the saturated values (min(127, q) as stored).
	VPMOVSXBW X8, Y0
	VEXTRACTI128 $1, Y8, X1
	VPMOVSXBW X1, Y1
	VPHADDW Y1, Y0, Y0 // pairs: [0..3 of a, 0..3 of b | 4..7 of a, 4..7 of b]
	VPHADDW Y0, Y0, Y0
	VPHADDW Y0, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDW X1, X0, X0  // word 0: Σ of the first 16, word 1: of the next 16
	VMOVD X0, (R9)(BX*2)
	ADDQ $32, AX
	ADDQ $2, BX
	CMPQ AX, $256
	JL   qkchunk

qknext:
	ADDQ $1024, SI
	ADDQ $256, DI
	ADDQ $4, DX
	ADDQ $32, R9
	DECQ CX
	JMP  qkblk

qkdone:
	VZEROUPPER
	RET
