#include "textflag.h"

// Q40BLK fuses one Q4_0 weight block (at RP+BX: f16 scale, 16 bytes of
// nibbles) times the Q8_0 activation block (Y0, scale in X2) into the
// scalar accumulator ACC, as dotQ40Q8: the nibbles (low ones the first 16
// weights, high ones, shifted down with VPSRLW, the last 16) less 8
// multiplied with the activations as ggml does (|w| unsigned times
// x·sign(w) signed, VPMADDUBSW, pairs to int32 with VPMADDWD), summed to
// one int32, converted and fused into ACC with the scale dw·dx. Needs
// Y13 = 8 bytes, Y14 = 0x0f bytes, Y15 = 16-bit ones.
#define Q40BLK(RP, ACC) \
	VMOVDQU 2(RP)(BX*1), X3 \
	VPSRLW $4, X3, X5 \
	VINSERTI128 $1, X5, Y3, Y3 \
	VPAND Y14, Y3, Y3 \
	VPSUBB Y13, Y3, Y3 \
	VPSIGNB Y3, Y3, Y5 \
	VPSIGNB Y3, Y0, Y6 \
	VPMADDUBSW Y6, Y5, Y5 \
	VPMADDWD Y15, Y5, Y5 \
	VEXTRACTI128 $1, Y5, X6 \
	VPADDD X6, X5, X5 \
	VPSHUFD $0x4e, X5, X6 \
	VPADDD X6, X5, X5 \
	VPSHUFD $0xb1, X5, X6 \
	VPADDD X6, X5, X5 \
	VCVTDQ2PS X5, X5 \
	MOVWLZX (RP)(BX*1), AX \
	VMOVQ AX, X4 \
	VCVTPH2PS X4, X4 \
	VMULSS X2, X4, X4 \
	VFMADD231SS X4, X5, ACC

// Q40CONST loads Q40BLK's constants.
#define Q40CONST \
	VPCMPEQW Y15, Y15, Y15 \
	VPSRLW $15, Y15, Y15 \
	MOVQ $0x0f0f0f0f, AX \
	VMOVQ AX, X14 \
	VPBROADCASTD X14, Y14 \
	MOVQ $0x08080808, AX \
	VMOVQ AX, X13 \
	VPBROADCASTD X13, Y13

// Q40INT leaves in YO the eight int32 partial sums (VPMADDWD lanes) of
// the Q4_0 weight block at WOFF-2(R8)(BX) times the activation block at
// AOFF(SI), as in Q40BLK.
#define Q40INT(WOFF, AOFF, YO) \
	VMOVDQU WOFF(R8)(BX*1), X3 \
	VPSRLW $4, X3, X5 \
	VINSERTI128 $1, X5, Y3, Y3 \
	VPAND Y14, Y3, Y3 \
	VPSUBB Y13, Y3, Y3 \
	VMOVDQU AOFF(SI), Y0 \
	VPSIGNB Y3, Y3, Y5 \
	VPSIGNB Y3, Y0, Y6 \
	VPMADDUBSW Y6, Y5, Y5 \
	VPMADDWD Y15, Y5, YO

// func gemvQ40Q8AVX2(w, xq *byte, xd, y *float32, rows, nblocks int)
// Rows Q4_0 weight rows of nblocks blocks times Q8_0 activations (xq
// int8, xd block scales), one row at a time, a single sequential stream
// through the weights (four rows in step ran slower). Four blocks at a
// time: their int32 lanes reduced together with VPHADDD to one sum per
// block, their four scales dw·dx computed in one vector, then fused into
// the row's accumulator one block after the other (the float order of
// dotQ40Q8); the remaining blocks one at a time (Q40BLK).
TEXT ·gemvQ40Q8AVX2(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), R8
	MOVQ y+24(FP), DI
	MOVQ rows+32(FP), R12
	Q40CONST

q40row:
	TESTQ R12, R12
	JE    q40done
	MOVQ  xq+8(FP), SI
	MOVQ  xd+16(FP), DX
	MOVQ  nblocks+40(FP), CX
	XORQ  BX, BX
	VXORPS X12, X12, X12

q40blk4:
	CMPQ CX, $4
	JL   q40blk
	Q40INT(2, 0, Y7)
	Q40INT(20, 32, Y8)
	Q40INT(38, 64, Y9)
	Q40INT(56, 96, Y10)
	VPHADDD Y8, Y7, Y7
	VPHADDD Y10, Y9, Y9
	VPHADDD Y9, Y7, Y7
	VEXTRACTI128 $1, Y7, X9
	VPADDD X9, X7, X7
	VCVTDQ2PS X7, X7
	MOVWLZX (R8)(BX*1), AX
	VMOVQ AX, X4
	MOVWLZX 18(R8)(BX*1), AX
	VPINSRW $1, AX, X4, X4
	MOVWLZX 36(R8)(BX*1), AX
	VPINSRW $2, AX, X4, X4
	MOVWLZX 54(R8)(BX*1), AX
	VPINSRW $3, AX, X4, X4
	VCVTPH2PS X4, X4
	VMULPS (DX), X4, X4
	VFMADD231SS X4, X7, X12
	VMOVSHDUP X7, X5
	VMOVSHDUP X4, X6
	VFMADD231SS X6, X5, X12
	VMOVHLPS X7, X7, X5
	VMOVHLPS X4, X4, X6
	VFMADD231SS X6, X5, X12
	VPSHUFD $0xff, X7, X5
	VPSHUFD $0xff, X4, X6
	VFMADD231SS X6, X5, X12
	ADDQ $128, SI
	ADDQ $16, DX
	ADDQ $72, BX
	SUBQ $4, CX
	JMP  q40blk4

q40blk:
	TESTQ CX, CX
	JE    q40store
	VMOVDQU (SI), Y0
	VMOVSS  (DX), X2
	Q40BLK(R8, X12)
	ADDQ $32, SI
	ADDQ $4, DX
	ADDQ $18, BX
	DECQ CX
	JMP  q40blk

q40store:
	VMOVSS X12, (DI)
	ADDQ   $4, DI
	ADDQ   BX, R8
	DECQ   R12
	JMP    q40row

q40done:
	VZEROUPPER
	RET

// Constants of bytes_from_bits: byte i of the broadcast qh word taken
// into bytes 8i…8i+7, then each byte ORed with all bits but its own.
DATA q5shuf<>+0(SB)/8, $0x0000000000000000
DATA q5shuf<>+8(SB)/8, $0x0101010101010101
DATA q5shuf<>+16(SB)/8, $0x0202020202020202
DATA q5shuf<>+24(SB)/8, $0x0303030303030303
GLOBL q5shuf<>(SB), RODATA|NOPTR, $32
DATA q5bits<>+0(SB)/8, $0x7fbfdfeff7fbfdfe
DATA q5bits<>+8(SB)/8, $0x7fbfdfeff7fbfdfe
DATA q5bits<>+16(SB)/8, $0x7fbfdfeff7fbfdfe
DATA q5bits<>+24(SB)/8, $0x7fbfdfeff7fbfdfe
GLOBL q5bits<>(SB), RODATA|NOPTR, $32

// func gemvQ50Q8AVX2(w, xq *byte, xd, y *float32, rows, nblocks int)
// Rows Q5_0 weight rows of nblocks blocks times Q8_0 activations, as
// ggml_vec_dot_q5_0_q8_0 on AVX2: the nibbles unpacked as in Q40BLK, each
// byte whose qh bit is clear ORed with 0xF0 (the value less 16), the
// eight int32 lanes of |w|·x·sign(w) converted and fused, scaled by
// dw·dx, into eight accumulators, added at the end as hsum_float_8 does.
TEXT ·gemvQ50Q8AVX2(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), R8
	MOVQ y+24(FP), DI
	MOVQ rows+32(FP), R12
	VPCMPEQW Y15, Y15, Y15
	VPSRLW   $15, Y15, Y15
	MOVQ     $0x0f0f0f0f, AX
	VMOVQ    AX, X14
	VPBROADCASTD X14, Y14
	VMOVDQU  q5shuf<>(SB), Y12
	VMOVDQU  q5bits<>(SB), Y11
	VPCMPEQB Y10, Y10, Y10
	MOVQ     $0xf0f0f0f0, AX
	VMOVQ    AX, X9
	VPBROADCASTD X9, Y9

q50row:
	TESTQ R12, R12
	JE    q50done
	MOVQ  xq+8(FP), SI
	MOVQ  xd+16(FP), DX
	MOVQ  nblocks+40(FP), CX
	VXORPS Y8, Y8, Y8

q50blk:
	TESTQ CX, CX
	JE    q50store
	VMOVDQU 6(R8), X3
	VPSRLW  $4, X3, X5
	VINSERTI128 $1, X5, Y3, Y3
	VPAND   Y14, Y3, Y3
	MOVL    2(R8), AX
	VMOVD   AX, X7
	VPBROADCASTD X7, Y7
	VPSHUFB Y12, Y7, Y7
	VPOR    Y11, Y7, Y7
	VPCMPEQB Y10, Y7, Y7
	VPANDN  Y9, Y7, Y7
	VPOR    Y7, Y3, Y3
	VMOVDQU (SI), Y0
	VPSIGNB Y3, Y3, Y5
	VPSIGNB Y3, Y0, Y6
	VPMADDUBSW Y6, Y5, Y5
	VPMADDWD Y15, Y5, Y5
	VCVTDQ2PS Y5, Y5
	MOVWLZX (R8), AX
	VMOVQ   AX, X4
	VCVTPH2PS X4, X4
	VMULSS  (DX), X4, X4
	VBROADCASTSS X4, Y4
	VFMADD231PS Y4, Y5, Y8
	ADDQ $32, SI
	ADDQ $4, DX
	ADDQ $22, R8
	DECQ CX
	JMP  q50blk

q50store:
	VEXTRACTF128 $1, Y8, X7
	VADDPS  X7, X8, X8
	VMOVHLPS X8, X8, X7
	VADDPS  X7, X8, X8
	VMOVSHDUP X8, X7
	VADDSS  X7, X8, X8
	VMOVSS  X8, (DI)
	ADDQ $4, DI
	DECQ R12
	JMP  q50row

q50done:
	VZEROUPPER
	RET

// gemvQ41Q8AVX2 and gemvQ51Q8AVX2: rows Q4_1 or Q5_1 weight rows of
// nblocks blocks (20 bytes: d, m, nibbles; 24: d, m, qh, nibbles) times
// Q8_1 activations (xq, xd, and the sums xs), as ggml_vec_dot_q4_1_q8_1
// and q5_1_q8_1 on AVX2: the unsigned 4- or 5-bit values (Q5_1's fifth
// bits ORed in as 0x10 from qh, as bytes_from_bits_32 gives them) times
// the activations with VPMADDUBSW, pairs to int32 with VPMADDWD,
// converted and fused, scaled by d·dx, into eight accumulators (Y8), and
// m·s fused into a scalar (X11); hsum_float_8 of the lanes plus the
// scalar stored.
// func gemvQ41Q8AVX2(w, xq *byte, xd, xs, y *float32, rows, nblocks int)
TEXT ·gemvQ41Q8AVX2(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), R8
	MOVQ y+32(FP), DI
	MOVQ rows+40(FP), R12
	VPCMPEQW Y15, Y15, Y15
	VPSRLW   $15, Y15, Y15
	MOVQ     $0x0f0f0f0f, AX
	VMOVQ    AX, X14
	VPBROADCASTD X14, Y14
	VMOVDQU  q5shuf<>(SB), Y12
	VMOVDQU  q5bits<>(SB), Y10
	VPCMPEQB Y13, Y13, Y13
	MOVQ     $0x10101010, AX
	VMOVQ    AX, X9
	VPBROADCASTD X9, Y9

q41row:
	TESTQ R12, R12
	JE    q41done
	MOVQ  xq+8(FP), SI
	MOVQ  xd+16(FP), DX
	MOVQ  xs+24(FP), R9
	MOVQ  nblocks+48(FP), CX
	VXORPS Y8, Y8, Y8
	VXORPS X11, X11, X11

q41blk:
	TESTQ CX, CX
	JE    q41store
	MOVWLZX 2(R8), AX
	VMOVQ   AX, X4
	VCVTPH2PS X4, X4
	VFMADD231SS (R9), X4, X11
	VMOVDQU 4(R8), X3
	VPSRLW  $4, X3, X5
	VINSERTI128 $1, X5, Y3, Y3
	VPAND   Y14, Y3, Y3
	VMOVDQU (SI), Y0
	VPMADDUBSW Y0, Y3, Y5
	VPMADDWD Y15, Y5, Y5
	VCVTDQ2PS Y5, Y5
	MOVWLZX (R8), AX
	VMOVQ   AX, X4
	VCVTPH2PS X4, X4
	VMULSS  (DX), X4, X4
	VBROADCASTSS X4, Y4
	VFMADD231PS Y4, Y5, Y8
	ADDQ $32, SI
	ADDQ $4, DX
	ADDQ $4, R9
	ADDQ $20, R8
	DECQ CX
	JMP  q41blk

q41store:
	VEXTRACTF128 $1, Y8, X7
	VADDPS  X7, X8, X8
	VMOVHLPS X8, X8, X7
	VADDPS  X7, X8, X8
	VMOVSHDUP X8, X7
	VADDSS  X7, X8, X8
	VADDSS  X11, X8, X8
	VMOVSS  X8, (DI)
	ADDQ $4, DI
	DECQ R12
	JMP  q41row

q41done:
	VZEROUPPER
	RET

// func gemvQ51Q8AVX2(w, xq *byte, xd, xs, y *float32, rows, nblocks int)
TEXT ·gemvQ51Q8AVX2(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), R8
	MOVQ y+32(FP), DI
	MOVQ rows+40(FP), R12
	VPCMPEQW Y15, Y15, Y15
	VPSRLW   $15, Y15, Y15
	MOVQ     $0x0f0f0f0f, AX
	VMOVQ    AX, X14
	VPBROADCASTD X14, Y14
	VMOVDQU  q5shuf<>(SB), Y12
	VMOVDQU  q5bits<>(SB), Y10
	VPCMPEQB Y13, Y13, Y13
	MOVQ     $0x10101010, AX
	VMOVQ    AX, X9
	VPBROADCASTD X9, Y9

q51row:
	TESTQ R12, R12
	JE    q51done
	MOVQ  xq+8(FP), SI
	MOVQ  xd+16(FP), DX
	MOVQ  xs+24(FP), R9
	MOVQ  nblocks+48(FP), CX
	VXORPS Y8, Y8, Y8
	VXORPS X11, X11, X11

q51blk:
	TESTQ CX, CX
	JE    q51store
	MOVWLZX 2(R8), AX
	VMOVQ   AX, X4
	VCVTPH2PS X4, X4
	VFMADD231SS (R9), X4, X11
	VMOVDQU 8(R8), X3
	VPSRLW  $4, X3, X5
	VINSERTI128 $1, X5, Y3, Y3
	VPAND   Y14, Y3, Y3
	MOVL    4(R8), AX
	VMOVD   AX, X7
	VPBROADCASTD X7, Y7
	VPSHUFB Y12, Y7, Y7
	VPOR    Y10, Y7, Y7
	VPCMPEQB Y13, Y7, Y7
	VPAND   Y9, Y7, Y7
	VPOR    Y7, Y3, Y3
	VMOVDQU (SI), Y0
	VPMADDUBSW Y0, Y3, Y5
	VPMADDWD Y15, Y5, Y5
	VCVTDQ2PS Y5, Y5
	MOVWLZX (R8), AX
	VMOVQ   AX, X4
	VCVTPH2PS X4, X4
	VMULSS  (DX), X4, X4
	VBROADCASTSS X4, Y4
	VFMADD231PS Y4, Y5, Y8
	ADDQ $32, SI
	ADDQ $4, DX
	ADDQ $4, R9
	ADDQ $24, R8
	DECQ CX
	JMP  q51blk

q51store:
	VEXTRACTF128 $1, Y8, X7
	VADDPS  X7, X8, X8
	VMOVHLPS X8, X8, X7
	VADDPS  X7, X8, X8
	VMOVSHDUP X8, X7
	VADDSS  X7, X8, X8
	VADDSS  X11, X8, X8
	VMOVSS  X8, (DI)
	ADDQ $4, DI
	DECQ R12
	JMP  q51row

q51done:
	VZEROUPPER
	RET
