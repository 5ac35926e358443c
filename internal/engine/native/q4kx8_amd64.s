#include "textflag.h"
#include "vec_amd64.h"

// Repacked Q4_K (q4kx8.go): the eight rows of a group in the eight int32
// and float lanes throughout, so no transposes.

DATA k8m30<>+0(SB)/4, $0x30303030
GLOBL k8m30<>(SB), RODATA|NOPTR, $4

// K8CHUNK adds chunk C of step J (the eight rows' bytes 4C…4C+3) times
// the activation's values 64J+4C… (low nibbles) and 64J+32+4C… (high)
// to the int16 sums Y4 (low) and Y5 (high).
#define K8CHUNK(J, C) \
	VMOVDQU      (128+256*J+32*C)(R8), Y0 \
	VPSRLW       $4, Y0, Y1 \
	VPAND        Y15, Y0, Y0 \
	VPAND        Y15, Y1, Y1 \
	VPBROADCASTD (64*J+4*C)(SI), Y2 \
	VPBROADCASTD (64*J+32+4*C)(SI), Y3 \
	VPMADDUBSW   Y2, Y0, Y0 \
	VPMADDUBSW   Y3, Y1, Y1 \
	VPADDW       Y0, Y4, Y4 \
	VPADDW       Y1, Y5, Y5

// K8STEP is 64-value step J: the eight rows' integer sums scaled by their
// two sub-blocks' scales (unpacked at SLO(SP), SHI(SP)) and minimums'
// terms (MN(SP) against the pair sums at 192+4J(SP)), into the floats
// Y8, Y9 (perSub, R13 ≠ 0) or the integers Y10, Y11.
#define K8STEP(J, SLO, SHI, MN) \
	VPXOR Y4, Y4, Y4 \
	VPXOR Y5, Y5, Y5 \
	K8CHUNK(J, 0) \
	K8CHUNK(J, 1) \
	K8CHUNK(J, 2) \
	K8CHUNK(J, 3) \
	K8CHUNK(J, 4) \
	K8CHUNK(J, 5) \
	K8CHUNK(J, 6) \
	K8CHUNK(J, 7) \
	VPMOVZXBW    SLO(SP), Y0 \
	VPMADDWD     Y0, Y4, Y4 \
	VPMOVZXBW    SHI(SP), Y1 \
	VPMADDWD     Y1, Y5, Y5 \
	VPADDD       Y5, Y4, Y4 \
	VPMOVZXBW    MN(SP), Y0 \
	VPBROADCASTD (192+4*J)(SP), Y1 \
	VPMADDWD     Y1, Y0, Y0 \
	TESTQ        R13, R13 \
	JE           6(PC) \
	VCVTDQ2PS    Y4, Y4 \
	VFMADD231PS  Y12, Y4, Y8 \
	VCVTDQ2PS    Y0, Y0 \
	VFMADD231PS  Y13, Y0, Y9 \
	JMP          3(PC) \
	VPADDD       Y4, Y10, Y10 \
	VPADDD       Y0, Y11, Y11

// func gemvQ4Kx8AVX2(w, xq *byte, xd *float32, xb *int16, y *float32, groups, nblocks, perSub int)
// Frame: 0…127 the scales of the eight sub-blocks (each value twice),
// 128…191 the minimums by step (sub-blocks 2j, 2j+1 interleaved), 192…207
// the activation's 16-value sums added in pairs.
TEXT ·gemvQ4Kx8AVX2(SB), NOSPLIT, $208-64
	MOVQ  w+0(FP), R8
	MOVQ  y+32(FP), DI
	MOVQ  groups+40(FP), R12
	MOVQ  perSub+56(FP), R13
	BCASTD($0x0f0f0f0f, X15, Y15)
	VPBROADCASTD k8m30<>(SB), Y14

k8grp:
	TESTQ R12, R12
	JE    k8done
	MOVQ  xq+8(FP), SI
	MOVQ  xd+16(FP), DX
	MOVQ  xb+24(FP), R9
	MOVQ  nblocks+48(FP), CX
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9

k8blk:
	// Unpack the scales (V0: sub-blocks 0–3, V1: 4–7) and minimums (V2:
	// even sub-blocks, V3: odd) and lay them out for the steps.
	VMOVDQU 32(R8), Y0
	VMOVDQU 64(R8), Y1
	VMOVDQU 96(R8), Y2
	VPSLLW  $4, Y2, Y3
	VPAND   Y14, Y3, Y3
	VPAND   Y15, Y0, Y4
	VPOR    Y3, Y4, Y4
	VPUNPCKLBW Y4, Y4, Y5
	VMOVDQU Y5, 0(SP)
	VPUNPCKHBW Y4, Y4, Y5
	VMOVDQU Y5, 32(SP)
	VPSLLW  $2, Y2, Y3
	VPAND   Y14, Y3, Y3
	VPAND   Y15, Y1, Y4
	VPOR    Y3, Y4, Y4
	VPUNPCKLBW Y4, Y4, Y5
	VMOVDQU Y5, 64(SP)
	VPUNPCKHBW Y4, Y4, Y5
	VMOVDQU Y5, 96(SP)
	VPAND   Y14, Y2, Y3
	VPSRLW  $4, Y0, Y4
	VPAND   Y15, Y4, Y4
	VPOR    Y3, Y4, Y6
	VPSRLW  $2, Y2, Y3
	VPAND   Y14, Y3, Y3
	VPSRLW  $4, Y1, Y4
	VPAND   Y15, Y4, Y4
	VPOR    Y3, Y4, Y7
	VPUNPCKLBW Y7, Y6, Y5
	VMOVDQU Y5, 128(SP)
	VPUNPCKHBW Y7, Y6, Y5
	VMOVDQU Y5, 160(SP)
	VMOVDQU      (R9), Y4
	VEXTRACTI128 $1, Y4, X5
	VPHADDW      X5, X4, X5
	VMOVDQU      X5, 192(SP)

	// Y12 = d·dx, Y13 = dmin·dx of the eight rows.
	VBROADCASTSS (DX), Y2
	VCVTPH2PS    (R8), Y0
	VMULPS       Y2, Y0, Y12
	VCVTPH2PS    16(R8), Y1
	VMULPS       Y2, Y1, Y13

	VPXOR Y10, Y10, Y10
	VPXOR Y11, Y11, Y11
	K8STEP(0, 0, 32, 128)
	K8STEP(1, 16, 48, 160)
	K8STEP(2, 64, 96, 144)
	K8STEP(3, 80, 112, 176)
	TESTQ R13, R13
	JNE   k8next
	VCVTDQ2PS   Y10, Y10
	VFMADD231PS Y12, Y10, Y8
	VCVTDQ2PS   Y11, Y11
	VFMADD231PS Y13, Y11, Y9

k8next:
	ADDQ $1152, R8
	ADDQ $256, SI
	ADDQ $4, DX
	ADDQ $32, R9
	DECQ CX
	JNZ  k8blk

	VSUBPS  Y9, Y8, Y8
	VMOVUPS Y8, (DI)
	ADDQ    $32, DI
	DECQ    R12
	JMP     k8grp

k8done:
	VZEROUPPER
	RET
