#include "textflag.h"

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
	MOVL $0x7fffffff, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15 // |x| mask
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
