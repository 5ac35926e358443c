#include "textflag.h"

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
// ggml_vec_dot_q5_0_q8_0 on AVX2: the nibbles unpacked (low ones the first 16 weights, high ones the
// last 16), each
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

// gemvQx1Q8AVX2: rows Q4_1 or Q5_1 weight rows of
// nblocks blocks (20 bytes: d, m, nibbles; 24: d, m, qh, nibbles) times
// Q8_1 activations (xq, xd, and the sums xs), as ggml_vec_dot_q4_1_q8_1
// and q5_1_q8_1 on AVX2: the unsigned 4- or 5-bit values (Q5_1's fifth
// bits ORed in as 0x10 from qh, as bytes_from_bits_32 gives them) times
// the activations with VPMADDUBSW, pairs to int32 with VPMADDWD,
// converted and fused, scaled by d·dx, into eight accumulators (Y8), and
// m·s fused into a scalar (X11); hsum_float_8 of the lanes plus the
// scalar stored. One kernel for both: fifth ≠ 0 is Q5_1.
// func gemvQx1Q8AVX2(w, xq *byte, xd, xs, y *float32, rows, nblocks, fifth int)
TEXT ·gemvQx1Q8AVX2(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), R8
	MOVQ y+32(FP), DI
	MOVQ rows+40(FP), R12
	MOVQ fifth+56(FP), R13
	MOVQ $20, R10 // block bytes and the nibbles' offset: Q4_1
	MOVQ $4, R11
	TESTQ R13, R13
	JE   qx1consts
	MOVQ $24, R10 // Q5_1: qh before the nibbles
	MOVQ $8, R11

qx1consts:
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

qx1row:
	TESTQ R12, R12
	JE    qx1done
	MOVQ  xq+8(FP), SI
	MOVQ  xd+16(FP), DX
	MOVQ  xs+24(FP), R9
	MOVQ  nblocks+48(FP), CX
	VXORPS Y8, Y8, Y8
	VXORPS X11, X11, X11

qx1blk:
	TESTQ CX, CX
	JE    qx1store
	MOVWLZX 2(R8), AX
	VMOVQ   AX, X4
	VCVTPH2PS X4, X4
	VFMADD231SS (R9), X4, X11
	VMOVDQU (R8)(R11*1), X3
	VPSRLW  $4, X3, X5
	VINSERTI128 $1, X5, Y3, Y3
	VPAND   Y14, Y3, Y3
	TESTQ   R13, R13
	JE      qx1dot
	MOVL    4(R8), AX
	VMOVD   AX, X7
	VPBROADCASTD X7, Y7
	VPSHUFB Y12, Y7, Y7
	VPOR    Y10, Y7, Y7
	VPCMPEQB Y13, Y7, Y7
	VPAND   Y9, Y7, Y7
	VPOR    Y7, Y3, Y3

qx1dot:
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
	ADDQ R10, R8
	DECQ CX
	JMP  qx1blk

qx1store:
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
	JMP  qx1row

qx1done:
	VZEROUPPER
	RET


// Q40X8HALF leaves in YO the int16 pair sums of rows 4·H…4·H+3 of the
// block_q4_0x8 at R8 (chunks at 16+32H and 80+32H: bytes 0…7 and 8…15 of
// each row) times the activation block broadcast as Y0…Y3 (values 0…7,
// 8…15, 16…23, 24…31 in every quadword): the chunks XORed back to the
// unsigned nibbles u (Y14 = 0x88 bytes, Y15 = 0x0f), u·x summed in pairs
// with VPMADDUBSW (at most 2·15·127), four such words added (at most
// 15240, no overflow). Uses Y5 and Y9.
#define Q40X8HALF(OFF0, OFF1, YO) \
	VMOVDQU OFF0(R8), Y5 \
	VPXOR Y14, Y5, Y5 \
	VPAND Y15, Y5, YO \
	VPSRLW $4, Y5, Y5 \
	VPAND Y15, Y5, Y5 \
	VPMADDUBSW Y0, YO, YO \
	VPMADDUBSW Y2, Y5, Y5 \
	VPADDW Y5, YO, YO \
	VMOVDQU OFF1(R8), Y5 \
	VPXOR Y14, Y5, Y5 \
	VPAND Y15, Y5, Y9 \
	VPSRLW $4, Y5, Y5 \
	VPAND Y15, Y5, Y5 \
	VPMADDUBSW Y1, Y9, Y9 \
	VPMADDUBSW Y3, Y5, Y5 \
	VPADDW Y9, YO, YO \
	VPADDW Y5, YO, YO

// gemvQ40x8Perm puts VPHADDD's row order (0, 1, 4, 5, 2, 3, 6, 7) back.
DATA gemvQ40x8Perm<>+0(SB)/4, $0
DATA gemvQ40x8Perm<>+4(SB)/4, $1
DATA gemvQ40x8Perm<>+8(SB)/4, $4
DATA gemvQ40x8Perm<>+12(SB)/4, $5
DATA gemvQ40x8Perm<>+16(SB)/4, $2
DATA gemvQ40x8Perm<>+20(SB)/4, $3
DATA gemvQ40x8Perm<>+24(SB)/4, $6
DATA gemvQ40x8Perm<>+28(SB)/4, $7
GLOBL gemvQ40x8Perm<>(SB), RODATA|NOPTR, $32

// func gemvQ40x8AVX2(w, xq *byte, xd *float32, xs *int32, y *float32, groups, nblocks int)
// Groups×8 rows of a Q4_0 matrix repacked as block_q4_0x8 (w, one
// sequential stream) times Q8_0 activations (xq int8, xd block scales,
// xs block sums of xq), eight rows at a time, one lane each: per block
// the activation's four quadwords broadcast, the eight rows' integer sums
// Σ(u−8)·x (Σu·x by Q40X8HALF, VPMADDWD to int32, VPHADDD to one per
// row, less 8·Σx from xs: exact integers), converted, and fused
// with dw·dx into the row's lane: the float order of dotQ40Q8 and of
// ggml's repacked gemv and gemm.
TEXT ·gemvQ40x8AVX2(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), R8
	MOVQ y+32(FP), DI
	MOVQ groups+40(FP), R12
	MOVQ $0x0f0f0f0f, AX
	VMOVQ AX, X15
	VPBROADCASTD X15, Y15
	MOVQ $0x88888888, AX
	VMOVQ AX, X14
	VPBROADCASTD X14, Y14
	VPCMPEQW Y13, Y13, Y13
	VPSRLW $15, Y13, Y13
	VMOVDQU gemvQ40x8Perm<>(SB), Y10

q40x8grp:
	TESTQ R12, R12
	JE    q40x8done
	MOVQ  xq+8(FP), SI
	MOVQ  xd+16(FP), DX
	MOVQ  xs+24(FP), R9
	MOVQ  nblocks+48(FP), CX
	VXORPS Y11, Y11, Y11

q40x8blk:
	VPBROADCASTQ 0(SI), Y0
	VPBROADCASTQ 8(SI), Y1
	VPBROADCASTQ 16(SI), Y2
	VPBROADCASTQ 24(SI), Y3
	Q40X8HALF(16, 80, Y6)
	Q40X8HALF(48, 112, Y8)
	VPMADDWD Y13, Y6, Y6
	VPMADDWD Y13, Y8, Y8
	VPHADDD Y8, Y6, Y6
	VPERMD Y6, Y10, Y6
	VPBROADCASTD (R9), Y7
	VPSLLD $3, Y7, Y7
	VPSUBD Y7, Y6, Y6
	VCVTDQ2PS Y6, Y6
	VCVTPH2PS (R8), Y7
	VBROADCASTSS (DX), Y8
	VMULPS Y8, Y7, Y7
	VFMADD231PS Y7, Y6, Y11
	ADDQ $144, R8
	ADDQ $32, SI
	ADDQ $4, DX
	ADDQ $4, R9
	DECQ CX
	JNE  q40x8blk

	VMOVUPS Y11, (DI)
	ADDQ    $32, DI
	DECQ    R12
	JMP     q40x8grp

q40x8done:
	VZEROUPPER
	RET

DATA gemmQ40x8C0f<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA gemmQ40x8C0f<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA gemmQ40x8C0f<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA gemmQ40x8C0f<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL gemmQ40x8C0f<>(SB), RODATA|NOPTR, $32

DATA gemmQ40x8C88<>+0(SB)/8, $0x8888888888888888
DATA gemmQ40x8C88<>+8(SB)/8, $0x8888888888888888
DATA gemmQ40x8C88<>+16(SB)/8, $0x8888888888888888
DATA gemmQ40x8C88<>+24(SB)/8, $0x8888888888888888
GLOBL gemmQ40x8C88<>(SB), RODATA|NOPTR, $32

DATA gemmQ40x8Ones<>+0(SB)/8, $0x0001000100010001
DATA gemmQ40x8Ones<>+8(SB)/8, $0x0001000100010001
DATA gemmQ40x8Ones<>+16(SB)/8, $0x0001000100010001
DATA gemmQ40x8Ones<>+24(SB)/8, $0x0001000100010001
GLOBL gemmQ40x8Ones<>(SB), RODATA|NOPTR, $32

// Q40X8NIB unpacks the 32-byte chunk at OFF(R8) of a block_q4_0x8 into its
// unsigned low (YL) and high (YH) nibbles.
#define Q40X8NIB(OFF, YL, YH) \
	VMOVDQU OFF(R8), YH \
	VPXOR gemmQ40x8C88<>(SB), YH, YH \
	VPAND gemmQ40x8C0f<>(SB), YH, YL \
	VPSRLW $4, YH, YH \
	VPAND gemmQ40x8C0f<>(SB), YH, YH

// Q40X8ROW fuses one activation row's block (values at (SI)(QI*QS),
// scale and sum at (DX) and (R9) indexed by (DI_*DS)) times the block's
// eight unpacked rows (Y0…Y7) into ACC, in VPHADDD's lane order (rows 0,
// 1, 4, 5, 2, 3, 6, 7; Y8 the scales dw in that order): as
// gemvQ40x8AVX2, each quadword of the activation block broadcast twice
// (for rows 0…3 and 4…7) so that Y9 can take the products.
#define Q40X8ROW(QI, QS, DI_, DS, ACC) \
	VPBROADCASTQ 0(SI)(QI*QS), Y9 \
	VPMADDUBSW Y9, Y4, Y11 \
	VPMADDUBSW Y9, Y0, Y10 \
	VPBROADCASTQ 8(SI)(QI*QS), Y9 \
	VPMADDUBSW Y9, Y6, Y9 \
	VPADDW Y9, Y11, Y11 \
	VPBROADCASTQ 8(SI)(QI*QS), Y9 \
	VPMADDUBSW Y9, Y2, Y9 \
	VPADDW Y9, Y10, Y10 \
	VPBROADCASTQ 16(SI)(QI*QS), Y9 \
	VPMADDUBSW Y9, Y5, Y9 \
	VPADDW Y9, Y11, Y11 \
	VPBROADCASTQ 16(SI)(QI*QS), Y9 \
	VPMADDUBSW Y9, Y1, Y9 \
	VPADDW Y9, Y10, Y10 \
	VPBROADCASTQ 24(SI)(QI*QS), Y9 \
	VPMADDUBSW Y9, Y7, Y9 \
	VPADDW Y9, Y11, Y11 \
	VPBROADCASTQ 24(SI)(QI*QS), Y9 \
	VPMADDUBSW Y9, Y3, Y9 \
	VPADDW Y9, Y10, Y10 \
	VPMADDWD gemmQ40x8Ones<>(SB), Y10, Y10 \
	VPMADDWD gemmQ40x8Ones<>(SB), Y11, Y11 \
	VPHADDD Y11, Y10, Y10 \
	VPBROADCASTD (R9)(DI_*DS), Y9 \
	VPSLLD $3, Y9, Y9 \
	VPSUBD Y9, Y10, Y10 \
	VCVTDQ2PS Y10, Y10 \
	VBROADCASTSS (DX)(DI_*DS), Y9 \
	VMULPS Y9, Y8, Y9 \
	VFMADD231PS Y9, Y10, ACC

// func gemmQ40x8AVX2(w, xq *byte, xd *float32, xs *int32, y *float32, groups, nblocks, ystride int)
// gemvQ40x8AVX2 for four activation rows at once (row a's values at
// xq+32·nblocks·a, scales and sums at xd, xs+nblocks·a, results at
// y+ystride·a): each weight block is unpacked once for the four rows
// (Q40X8NIB), then each row's sums computed and fused as gemvQ40x8AVX2
// does (Q40X8ROW), into four accumulators; the same float operations
// per output, so the same results.
TEXT ·gemmQ40x8AVX2(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), R8
	MOVQ y+32(FP), DI
	MOVQ groups+40(FP), R12
	MOVQ nblocks+48(FP), R11
	SHLQ $2, R11                // scale and sum stride
	LEAQ (R11)(R11*2), R14
	MOVQ R11, R10
	SHLQ $3, R10                // value stride
	LEAQ (R10)(R10*2), R13
	XORQ AX, AX                 // row 0's index

q40x8mgrp:
	TESTQ R12, R12
	JE    q40x8mdone
	MOVQ  xq+8(FP), SI
	MOVQ  xd+16(FP), DX
	MOVQ  xs+24(FP), R9
	MOVQ  nblocks+48(FP), CX
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15

q40x8mblk:
	Q40X8NIB(16, Y0, Y1)
	Q40X8NIB(80, Y2, Y3)
	Q40X8NIB(48, Y4, Y5)
	Q40X8NIB(112, Y6, Y7)
	VCVTPH2PS (R8), Y8
	VMOVDQU gemvQ40x8Perm<>(SB), Y9
	VPERMPS Y8, Y9, Y8
	Q40X8ROW(AX, 1, AX, 1, Y12)
	Q40X8ROW(R10, 1, R11, 1, Y13)
	Q40X8ROW(R10, 2, R11, 2, Y14)
	Q40X8ROW(R13, 1, R14, 1, Y15)
	ADDQ $144, R8
	ADDQ $32, SI
	ADDQ $4, DX
	ADDQ $4, R9
	DECQ CX
	JNE  q40x8mblk

	VMOVDQU gemvQ40x8Perm<>(SB), Y9
	VPERMPS Y12, Y9, Y12
	VPERMPS Y13, Y9, Y13
	VPERMPS Y14, Y9, Y14
	VPERMPS Y15, Y9, Y15
	MOVQ    ystride+56(FP), BX
	SHLQ    $2, BX
	VMOVUPS Y12, (DI)
	VMOVUPS Y13, (DI)(BX*1)
	VMOVUPS Y14, (DI)(BX*2)
	LEAQ    (BX)(BX*2), BX
	VMOVUPS Y15, (DI)(BX*1)
	ADDQ    $32, DI
	DECQ    R12
	JMP     q40x8mgrp

q40x8mdone:
	VZEROUPPER
	RET

// Q40X8ROWV is Q40X8ROW with AVX-512 VNNI (VPDPBUSD, Y registers): the
// unsigned nibbles times the activations summed four at a time straight
// into int32 (P in Y10 for rows 0…3, Q in Y11 for 4…7), the same integers.
#define Q40X8ROWV(QI, QS, DI_, DS, ACC) \
	VPXOR Y10, Y10, Y10 \
	VPXOR Y11, Y11, Y11 \
	VPBROADCASTQ 0(SI)(QI*QS), Y9 \
	VPDPBUSD Y9, Y0, Y10 \
	VPDPBUSD Y9, Y4, Y11 \
	VPBROADCASTQ 8(SI)(QI*QS), Y9 \
	VPDPBUSD Y9, Y2, Y10 \
	VPDPBUSD Y9, Y6, Y11 \
	VPBROADCASTQ 16(SI)(QI*QS), Y9 \
	VPDPBUSD Y9, Y1, Y10 \
	VPDPBUSD Y9, Y5, Y11 \
	VPBROADCASTQ 24(SI)(QI*QS), Y9 \
	VPDPBUSD Y9, Y3, Y10 \
	VPDPBUSD Y9, Y7, Y11 \
	VPHADDD Y11, Y10, Y10 \
	VPBROADCASTD (R9)(DI_*DS), Y9 \
	VPSLLD $3, Y9, Y9 \
	VPSUBD Y9, Y10, Y10 \
	VCVTDQ2PS Y10, Y10 \
	VBROADCASTSS (DX)(DI_*DS), Y9 \
	VMULPS Y9, Y8, Y9 \
	VFMADD231PS Y9, Y10, ACC

// Q40X8UNPACK unpacks the block_q4_0x8 at R8 into Y0…Y7 and its scales,
// in VPHADDD's lane order, into Y8.
#define Q40X8UNPACK \
	Q40X8NIB(16, Y0, Y1) \
	Q40X8NIB(80, Y2, Y3) \
	Q40X8NIB(48, Y4, Y5) \
	Q40X8NIB(112, Y6, Y7) \
	VCVTPH2PS (R8), Y8 \
	VMOVDQU gemvQ40x8Perm<>(SB), Y9 \
	VPERMPS Y8, Y9, Y8

// func gemmQ40x8VNNI(w, xq *byte, xd *float32, xs *int32, y *float32, groups, nblocks, ystride int)
// gemmQ40x8AVX2 with VPDPBUSD (AVX512_VNNI, AVX512VL).
TEXT ·gemmQ40x8VNNI(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), R8
	MOVQ y+32(FP), DI
	MOVQ groups+40(FP), R12
	MOVQ nblocks+48(FP), R11
	SHLQ $2, R11
	LEAQ (R11)(R11*2), R14
	MOVQ R11, R10
	SHLQ $3, R10
	LEAQ (R10)(R10*2), R13
	XORQ AX, AX

q40x8vgrp:
	TESTQ R12, R12
	JE    q40x8vdone
	MOVQ  xq+8(FP), SI
	MOVQ  xd+16(FP), DX
	MOVQ  xs+24(FP), R9
	MOVQ  nblocks+48(FP), CX
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15

q40x8vblk:
	Q40X8UNPACK
	Q40X8ROWV(AX, 1, AX, 1, Y12)
	Q40X8ROWV(R10, 1, R11, 1, Y13)
	Q40X8ROWV(R10, 2, R11, 2, Y14)
	Q40X8ROWV(R13, 1, R14, 1, Y15)
	ADDQ $144, R8
	ADDQ $32, SI
	ADDQ $4, DX
	ADDQ $4, R9
	DECQ CX
	JNE  q40x8vblk

	VMOVDQU gemvQ40x8Perm<>(SB), Y9
	VPERMPS Y12, Y9, Y12
	VPERMPS Y13, Y9, Y13
	VPERMPS Y14, Y9, Y14
	VPERMPS Y15, Y9, Y15
	MOVQ    ystride+56(FP), BX
	SHLQ    $2, BX
	VMOVUPS Y12, (DI)
	VMOVUPS Y13, (DI)(BX*1)
	VMOVUPS Y14, (DI)(BX*2)
	LEAQ    (BX)(BX*2), BX
	VMOVUPS Y15, (DI)(BX*1)
	ADDQ    $32, DI
	DECQ    R12
	JMP     q40x8vgrp

q40x8vdone:
	VZEROUPPER
	RET

// func gemvQ40x8VNNI(w, xq *byte, xd *float32, xs *int32, y *float32, groups, nblocks int)
// gemvQ40x8AVX2 with VPDPBUSD (AVX512_VNNI, AVX512VL).
TEXT ·gemvQ40x8VNNI(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), R8
	MOVQ y+32(FP), DI
	MOVQ groups+40(FP), R12
	XORQ AX, AX

q40x8v1grp:
	TESTQ R12, R12
	JE    q40x8v1done
	MOVQ  xq+8(FP), SI
	MOVQ  xd+16(FP), DX
	MOVQ  xs+24(FP), R9
	MOVQ  nblocks+48(FP), CX
	VXORPS Y12, Y12, Y12

q40x8v1blk:
	Q40X8UNPACK
	Q40X8ROWV(AX, 1, AX, 1, Y12)
	ADDQ $144, R8
	ADDQ $32, SI
	ADDQ $4, DX
	ADDQ $4, R9
	DECQ CX
	JNE  q40x8v1blk

	VMOVDQU gemvQ40x8Perm<>(SB), Y9
	VPERMPS Y12, Y9, Y12
	VMOVUPS Y12, (DI)
	ADDQ    $32, DI
	DECQ    R12
	JMP     q40x8v1grp

q40x8v1done:
	VZEROUPPER
	RET
