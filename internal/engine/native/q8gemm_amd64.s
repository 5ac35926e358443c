#include "textflag.h"
#include "vec_amd64.h"

// Q8_0 weights times four Q8_0 activation rows at once, with AVX-512 VNNI
// (VPDPBUSD on 256-bit registers, AVX512VL) and the 32 vector registers
// AVX-512 gives: sixteen accumulators, one per (weight row, activation
// row) of a 4×4 tile.
//
// VPDPBUSD multiplies unsigned by signed bytes without saturating, so the
// weights are offset to unsigned (w+128, an XOR with 0x80) and each
// activation block's 128·Σa is subtracted again per 32-bit lane (computed
// once per activation block, off the weights' critical path): the lane
// sums are then exactly the integers ggml's VPMADDUBSW/VPMADDWD sequence
// yields, and the float part (one FMA per block and lane with dw·dx,
// hsum_float_8 at the end) is ggml's ggml_vec_dot_q8_0_q8_0 and
// tinyBLAS's order, so every output equals gemvQ8Q8AVX2's bit for bit.

// Q8GPAIR adds activation row A's block (signed, in A; its −128·Σa in
// NC) times the unsigned weight block in Y4 to ACC, fused with the pair's
// scale broadcast from SC(SP).
#define Q8GPAIR(A, NC, T, SC, ACC) \
	VMOVDQA NC, T \
	VPDPBUSD A, Y4, T \
	VCVTDQ2PS T, T \
	VFMADD231PS.BCST SC(SP), T, ACC

// Q8GROW loads weight row R's block (at WADDR) into Y4 as unsigned and
// adds it times the four activation rows to ACC0..ACC3.
#define Q8GROW(WADDR, R, ACC0, ACC1, ACC2, ACC3) \
	VPXOR WADDR, Y15, Y4 \
	Q8GPAIR(Y0, Y9, Y5, 0+4*R, ACC0) \
	Q8GPAIR(Y1, Y10, Y6, 16+4*R, ACC1) \
	Q8GPAIR(Y2, Y11, Y7, 32+4*R, ACC2) \
	Q8GPAIR(Y3, Y12, Y8, 48+4*R, ACC3)

// Q8GNEGSUM sets NC to −128·Σa per lane of the activation block in A.
#define Q8GNEGSUM(A, NC) \
	VPXOR NC, NC, NC \
	VPDPBUSD A, Y15, NC \
	VPSUBD NC, Y14, NC

// func gemmQ8Q8x4VNNI(w, xq *byte, xd, y *float32, groups, nblocks, ystride int)
// groups×4 Q8_0 weight rows (nblocks blocks each, consecutive) times four
// activation rows: xq holds them at a stride of nblocks·32 bytes, xd their
// block scales at a stride of nblocks floats; output row r of activation
// row b goes to y[b·ystride + r].
TEXT ·gemmQ8Q8x4VNNI(SB), NOSPLIT, $72-56
	MOVQ nblocks+40(FP), R9
	IMULQ $34, R9 // weight row bytes
	LEAQ (R9)(R9*2), R10
	MOVQ nblocks+40(FP), R12
	SHLQ $5, R12 // activation row bytes
	LEAQ (R12)(R12*2), R13
	MOVQ nblocks+40(FP), R14
	SHLQ $2, R14 // activation scale row bytes
	LEAQ (R14)(R14*2), R15
	MOVQ w+0(FP), R11
	MOVQ y+24(FP), DI
	MOVQ groups+32(FP), AX
	MOVQ AX, 64(SP)
	BYTES80(Y15)
	VPXOR Y14, Y14, Y14

q8ggroup:
	CMPQ 64(SP), $0
	JE   q8gdone
	MOVQ R11, R8
	MOVQ xq+8(FP), SI
	MOVQ xd+16(FP), DX
	MOVQ nblocks+40(FP), CX
	ZERO16TO31

q8gblk:
	TESTQ CX, CX
	JE    q8gstore

	// The 16 scale products dw[r]·dx[b], at 16·b + 4·r(SP).
	MOVWLZX (R8), AX
	VMOVD AX, X13
	VPINSRW $1, (R8)(R9*1), X13, X13
	VPINSRW $2, (R8)(R9*2), X13, X13
	VPINSRW $3, (R8)(R10*1), X13, X13
	VCVTPH2PS X13, X13
	VBROADCASTSS (DX), X5
	VMULPS X13, X5, X5
	VMOVUPS X5, 0(SP)
	VBROADCASTSS (DX)(R14*1), X5
	VMULPS X13, X5, X5
	VMOVUPS X5, 16(SP)
	VBROADCASTSS (DX)(R14*2), X5
	VMULPS X13, X5, X5
	VMOVUPS X5, 32(SP)
	VBROADCASTSS (DX)(R15*1), X5
	VMULPS X13, X5, X5
	VMOVUPS X5, 48(SP)

	// The next group's weights, which the four interleaved streams would
	// otherwise leave to the hardware prefetcher.
	LEAQ (R8)(R9*4), AX
	PREFETCHT0 (AX)
	PREFETCHT0 (AX)(R9*1)
	PREFETCHT0 (AX)(R9*2)
	PREFETCHT0 (AX)(R10*1)

	// The four activation blocks and their corrections.
	VMOVDQU (SI), Y0
	VMOVDQU (SI)(R12*1), Y1
	VMOVDQU (SI)(R12*2), Y2
	VMOVDQU (SI)(R13*1), Y3
	Q8GNEGSUM(Y0, Y9)
	Q8GNEGSUM(Y1, Y10)
	Q8GNEGSUM(Y2, Y11)
	Q8GNEGSUM(Y3, Y12)

	Q8GROW(2(R8), 0, Y16, Y17, Y18, Y19)
	Q8GROW(2(R8)(R9*1), 1, Y20, Y21, Y22, Y23)
	Q8GROW(2(R8)(R9*2), 2, Y24, Y25, Y26, Y27)
	Q8GROW(2(R8)(R10*1), 3, Y28, Y29, Y30, Y31)

	ADDQ $34, R8
	ADDQ $32, SI
	ADDQ $4, DX
	DECQ CX
	JMP  q8gblk

q8gstore:
	MOVQ ystride+48(FP), BX
	SHLQ $2, BX
	LEAQ (DI)(BX*2), AX // activation row 2's outputs
	HSUM8HI(Y16, X16, 0(DI))
	HSUM8HI(Y17, X17, 0(DI)(BX*1))
	HSUM8HI(Y18, X18, 0(AX))
	HSUM8HI(Y19, X19, 0(AX)(BX*1))
	HSUM8HI(Y20, X20, 4(DI))
	HSUM8HI(Y21, X21, 4(DI)(BX*1))
	HSUM8HI(Y22, X22, 4(AX))
	HSUM8HI(Y23, X23, 4(AX)(BX*1))
	HSUM8HI(Y24, X24, 8(DI))
	HSUM8HI(Y25, X25, 8(DI)(BX*1))
	HSUM8HI(Y26, X26, 8(AX))
	HSUM8HI(Y27, X27, 8(AX)(BX*1))
	HSUM8HI(Y28, X28, 12(DI))
	HSUM8HI(Y29, X29, 12(DI)(BX*1))
	HSUM8HI(Y30, X30, 12(AX))
	HSUM8HI(Y31, X31, 12(AX)(BX*1))
	ADDQ $16, DI
	LEAQ (R11)(R9*4), R11
	DECQ 64(SP)
	JMP  q8ggroup

q8gdone:
	VZEROUPPER
	RET

// func q8NegLaneSums(xq *byte, xc *int32, nblocks int)
// Sets xc[8b+u] = −128·(xq[32b+4u] + … + xq[32b+4u+3]) for every block b:
// the correction gemvQ8Q8VNNI adds back per lane, computed once per
// activation row for all the weight rows it meets.
TEXT ·q8NegLaneSums(SB), NOSPLIT, $0-24
	MOVQ xq+0(FP), SI
	MOVQ xc+8(FP), DI
	MOVQ nblocks+16(FP), CX
	BYTES80(Y15)
	VPXOR Y14, Y14, Y14

qnlblk:
	TESTQ CX, CX
	JE    qnldone
	VPXOR Y0, Y0, Y0
	VPDPBUSD (SI), Y15, Y0
	VPSUBD Y0, Y14, Y0
	VMOVDQU Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JMP  qnlblk

qnldone:
	VZEROUPPER
	RET

// func gemvQ8Q8VNNI(w, xq *byte, xc *int32, xd, y *float32, rows, nblocks int)
// gemvQ8Q8AVX2 with VPDPBUSD, one weight row at a time (a single stream
// through the weights): the weights offset to unsigned (w+128), the lane
// sums started from the activation row's −128·Σa (xc, q8NegLaneSums), the
// scale dw·dx formed in the vector (VPBROADCASTW, VCVTPH2PS, a broadcast
// multiply): 8 instructions a block instead of 12, the integers and the
// float order unchanged, so the results are gemvQ8Q8AVX2's bit for bit. A
// software prefetch 3 KiB ahead keeps the stream ahead of the kernel, which
// the hardware prefetcher alone did not.
TEXT ·gemvQ8Q8VNNI(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), R8
	MOVQ y+32(FP), DI
	MOVQ rows+40(FP), R12
	BYTES80(Y15)

qvrow:
	TESTQ R12, R12
	JE    qvdone
	MOVQ xq+8(FP), SI
	MOVQ xc+16(FP), R9
	MOVQ xd+24(FP), DX
	MOVQ nblocks+48(FP), CX
	VXORPS Y8, Y8, Y8

qvblk:
	TESTQ CX, CX
	JE    qvred
	PREFETCHT0 3072(R8) // 3 KiB ahead: 1-thread decode ~150 → ~172 tok/s (stories110M)
	VPBROADCASTW (R8), X4
	VCVTPH2PS X4, Y4
	VMULPS.BCST (DX), Y4, Y4
	VPXOR 2(R8), Y15, Y5
	VMOVDQU (R9), Y6
	VPDPBUSD (SI), Y5, Y6
	VCVTDQ2PS Y6, Y6
	VFMADD231PS Y4, Y6, Y8
	ADDQ $34, R8
	ADDQ $32, SI
	ADDQ $32, R9
	ADDQ $4, DX
	DECQ CX
	JMP  qvblk

qvred:
	HSUM8(Y8, X8, (DI))
	ADDQ $4, DI
	DECQ R12
	JMP  qvrow

qvdone:
	VZEROUPPER
	RET
