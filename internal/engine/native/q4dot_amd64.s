#include "textflag.h"

// func gemvQ40Q8AVX2(w, xq *byte, xd, y *float32, rows, nblocks int)
// Rows Q4_0 weight rows of nblocks blocks times Q8_0 activations (xq
// int8, xd block scales), as dotQ40Q8: per block the nibbles (low ones
// the first 16 weights, high ones, shifted down with VPSRLW, the last 16)
// less 8 multiplied with the activations as ggml does (|w| unsigned times
// x·sign(w) signed, VPMADDUBSW, pairs to int32 with VPMADDWD), summed to
// one int32, converted and fused into the row's scalar accumulator with
// the scale dw·dx. One row at a time, a single stream through the weights.
TEXT ·gemvQ40Q8AVX2(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), R8
	MOVQ y+24(FP), DI
	MOVQ rows+32(FP), R12
	VPCMPEQW Y15, Y15, Y15
	VPSRLW   $15, Y15, Y15 // 16-bit ones
	MOVQ     $0x0f0f0f0f, AX
	VMOVQ    AX, X14
	VPBROADCASTD X14, Y14  // 0x0f bytes
	MOVQ     $0x08080808, AX
	VMOVQ    AX, X13
	VPBROADCASTD X13, Y13  // 8 bytes

q40row:
	TESTQ R12, R12
	JE    q40done
	MOVQ  xq+8(FP), SI
	MOVQ  xd+16(FP), DX
	MOVQ  nblocks+40(FP), CX
	VXORPS X8, X8, X8

q40blk:
	TESTQ CX, CX
	JE    q40store
	VMOVDQU 2(R8), X3
	VPSRLW  $4, X3, X5
	VINSERTI128 $1, X5, Y3, Y3
	VPAND   Y14, Y3, Y3
	VPSUBB  Y13, Y3, Y3
	VMOVDQU (SI), Y0
	VPSIGNB Y3, Y3, Y5
	VPSIGNB Y3, Y0, Y6
	VPMADDUBSW Y6, Y5, Y5
	VPMADDWD Y15, Y5, Y5
	VEXTRACTI128 $1, Y5, X6
	VPADDD  X6, X5, X5
	VPSHUFD $0x4e, X5, X6
	VPADDD  X6, X5, X5
	VPSHUFD $0xb1, X5, X6
	VPADDD  X6, X5, X5
	VCVTDQ2PS X5, X5
	MOVWLZX (R8), AX
	VMOVQ   AX, X4
	VCVTPH2PS X4, X4
	VMULSS  (DX), X4, X4
	VFMADD231SS X4, X5, X8
	ADDQ $32, SI
	ADDQ $4, DX
	ADDQ $18, R8
	DECQ CX
	JMP  q40blk

q40store:
	VMOVSS X8, (DI)
	ADDQ $4, DI
	DECQ R12
	JMP  q40row

q40done:
	VZEROUPPER
	RET
