#include "textflag.h"
#include "vec_amd64.h"

// Multi-row Q4_K kernels in the float orders of ggml's repacked Q4_K
// kernels (dotQ4KQ8KRepack): gemvQ4KQ8Kx8AVX2 takes eight weight rows per
// pass with the rows in the float lanes, gemmQ4KQ8Kx4AVX2 one weight row
// per pass against four activation rows with the activation rows in the
// lanes. Both read the file's row-major Q4_K rows in place; every integer
// sum is exact, and each output's float operations (d·dx, dmin·dx, one
// FMA per super-block or per 64-value step, the minimums subtracted at the
// end) are those of the row kernel gemvQ4KQ8KRAVX2, so the results are
// equal bit for bit.

// x8shuf is k4shuf (q8kdot_amd64.s): pattern i copies int16 word i of
// each 128-bit lane to all of its words.
DATA x8shuf<>+0(SB)/8, $0x0100010001000100
DATA x8shuf<>+8(SB)/8, $0x0100010001000100
DATA x8shuf<>+16(SB)/8, $0x0100010001000100
DATA x8shuf<>+24(SB)/8, $0x0100010001000100
DATA x8shuf<>+32(SB)/8, $0x0302030203020302
DATA x8shuf<>+40(SB)/8, $0x0302030203020302
DATA x8shuf<>+48(SB)/8, $0x0302030203020302
DATA x8shuf<>+56(SB)/8, $0x0302030203020302
DATA x8shuf<>+64(SB)/8, $0x0504050405040504
DATA x8shuf<>+72(SB)/8, $0x0504050405040504
DATA x8shuf<>+80(SB)/8, $0x0504050405040504
DATA x8shuf<>+88(SB)/8, $0x0504050405040504
DATA x8shuf<>+96(SB)/8, $0x0706070607060706
DATA x8shuf<>+104(SB)/8, $0x0706070607060706
DATA x8shuf<>+112(SB)/8, $0x0706070607060706
DATA x8shuf<>+120(SB)/8, $0x0706070607060706
DATA x8shuf<>+128(SB)/8, $0x0908090809080908
DATA x8shuf<>+136(SB)/8, $0x0908090809080908
DATA x8shuf<>+144(SB)/8, $0x0908090809080908
DATA x8shuf<>+152(SB)/8, $0x0908090809080908
DATA x8shuf<>+160(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA x8shuf<>+168(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA x8shuf<>+176(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA x8shuf<>+184(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA x8shuf<>+192(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA x8shuf<>+200(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA x8shuf<>+208(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA x8shuf<>+216(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA x8shuf<>+224(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA x8shuf<>+232(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA x8shuf<>+240(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA x8shuf<>+248(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL x8shuf<>(SB), RODATA|NOPTR, $256

// X8SCALES unpacks the 6-bit scales (low 128 bits of Y3, int16) and
// minimums (high 128 bits) of the Q4_K block at (B). Clobbers AX, BX,
// CX, T1, T2.
#define X8SCALES(B, T1, T2) \
	MOVL 4(B), AX \
	MOVL 8(B), BX \
	MOVL 12(B), CX \
	MOVL CX, T1 \
	SHRL $4, T1 \
	ANDL $0x0f0f0f0f, T1 \
	MOVL BX, T2 \
	SHRL $6, T2 \
	ANDL $0x03030303, T2 \
	SHLL $4, T2 \
	ORL  T2, T1 \
	ANDL $0x0f0f0f0f, CX \
	MOVL AX, T2 \
	SHRL $6, T2 \
	ANDL $0x03030303, T2 \
	SHLL $4, T2 \
	ORL  T2, CX \
	ANDL $0x3f3f3f3f, BX \
	ANDL $0x3f3f3f3f, AX \
	SHLQ $32, CX \
	ORQ  CX, AX \
	SHLQ $32, T1 \
	ORQ  T1, BX \
	VMOVQ     AX, X3 \
	VPINSRQ   $1, BX, X3, X3 \
	VPMOVZXBW X3, Y3

// X8SUM is K4SUM (q8kdot_amd64.s) on the block at (R11).
#define X8SUM(QO, XL, XH, SL, SH, OUT) \
	VMOVDQU QO(R11), Y5 \
	VPAND Y15, Y5, Y6 \
	VPSRLW $4, Y5, Y5 \
	VPAND Y15, Y5, Y5 \
	VPMADDUBSW XL(SI), Y6, Y6 \
	VPMADDUBSW XH(SI), Y5, Y5 \
	VPSHUFB x8shuf<>+SL(SB), Y3, Y7 \
	VPMADDWD Y7, Y6, Y6 \
	VPSHUFB x8shuf<>+SH(SB), Y3, Y7 \
	VPMADDWD Y7, Y5, Y5 \
	VPADDD Y6, Y5, OUT

// X8ROW handles the row of the group at (R11): its d and dmin (f16 pair)
// into lane DIDX of DREG, the four steps' integer sums to SOFF(SP) and
// their minimums' terms (X13: the activation's pair sums) to MOFF(SP),
// the same block of the next group prefetched; then steps R11 to the next
// row.
#define X8ROW(SOFF, MOFF, DREG, DIDX) \
	VPINSRD $DIDX, (R11), DREG, DREG \
	X8SCALES(R11, R10, R13) \
	VEXTRACTI128 $1, Y3, X5 \
	VPMADDWD X13, X5, X5 \
	VMOVDQU X5, MOFF(SP) \
	VPERMQ $0x44, Y3, Y3 \
	X8SUM(16, 0, 32, 0, 32, Y0) \
	X8SUM(48, 64, 96, 64, 96, Y1) \
	X8SUM(80, 128, 160, 128, 160, Y2) \
	X8SUM(112, 192, 224, 192, 224, Y4) \
	VPHADDD Y1, Y0, Y0 \
	VPHADDD Y4, Y2, Y2 \
	VPHADDD Y2, Y0, Y0 \
	VEXTRACTI128 $1, Y0, X1 \
	VPADDD X1, X0, X0 \
	VMOVDQU X0, SOFF(SP) \
	ADDQ 264(SP), R11

// X8TRANS loads the eight rows' four int32 at B(SP) (16 bytes a row) and
// leaves step j's values of rows 0..7 in Y4 (j=0) … Y7 (j=3). Clobbers
// Y2, Y3.
#define X8TRANS(B0, B1, B2, B3, B4, B5, B6, B7) \
	VMOVDQU B0(SP), X2 \
	VINSERTI128 $1, B4(SP), Y2, Y2 \
	VMOVDQU B1(SP), X3 \
	VINSERTI128 $1, B5(SP), Y3, Y3 \
	VMOVDQU B2(SP), X4 \
	VINSERTI128 $1, B6(SP), Y4, Y4 \
	VMOVDQU B3(SP), X5 \
	VINSERTI128 $1, B7(SP), Y5, Y5 \
	VPUNPCKLDQ Y3, Y2, Y6 \
	VPUNPCKHDQ Y3, Y2, Y7 \
	VPUNPCKLDQ Y5, Y4, Y2 \
	VPUNPCKHDQ Y5, Y4, Y3 \
	VPUNPCKLQDQ Y2, Y6, Y4 \
	VPUNPCKHQDQ Y2, Y6, Y5 \
	VPUNPCKLQDQ Y3, Y7, Y6 \
	VPUNPCKHQDQ Y3, Y7, Y7

// X8ACC accumulates Y4…Y7 (the four steps, int32 per row) scaled by D
// into ACC: summed first (perSub 0) or one FMA per step (perSub ≠ 0).
#define X8ACC(D, ACC, LBL, DONE) \
	CMPQ perSub+56(FP), $0 \
	JNE  LBL \
	VPADDD Y5, Y4, Y4 \
	VPADDD Y7, Y6, Y6 \
	VPADDD Y6, Y4, Y4 \
	VCVTDQ2PS Y4, Y4 \
	VFMADD231PS D, Y4, ACC \
	JMP DONE \
LBL: \
	VCVTDQ2PS Y4, Y4 \
	VCVTDQ2PS Y5, Y5 \
	VCVTDQ2PS Y6, Y6 \
	VCVTDQ2PS Y7, Y7 \
	VFMADD231PS D, Y4, ACC \
	VFMADD231PS D, Y5, ACC \
	VFMADD231PS D, Y6, ACC \
	VFMADD231PS D, Y7, ACC \
DONE:

// X4STEP adds one 64-value step of the row at (R8) for the four
// activation rows at XL(SI), XL(SI)(R13*1), XL(SI)(R13*2) and
// XL(SI)(R10*1): scaled by X14 into X12 (perSub, one FMA) or to the
// integers of X10.
#define X4STEP(QO, XL, XH, SL, SH) \
	VMOVDQU QO(R8), Y0 \
	VPAND   Y15, Y0, Y1 \
	VPSRLW  $4, Y0, Y0 \
	VPAND   Y15, Y0, Y0 \
	VPSHUFB x8shuf<>+SL(SB), Y3, Y2 \
	VPSHUFB x8shuf<>+SH(SB), Y3, Y4 \
	VPMADDUBSW XL(SI), Y1, Y9 \
	VPMADDWD   Y2, Y9, Y9 \
	VPMADDUBSW XH(SI), Y0, Y5 \
	VPMADDWD   Y4, Y5, Y5 \
	VPADDD     Y9, Y5, Y5 \
	VPMADDUBSW XL(SI)(R13*1), Y1, Y9 \
	VPMADDWD   Y2, Y9, Y9 \
	VPMADDUBSW XH(SI)(R13*1), Y0, Y6 \
	VPMADDWD   Y4, Y6, Y6 \
	VPADDD     Y9, Y6, Y6 \
	VPMADDUBSW XL(SI)(R13*2), Y1, Y9 \
	VPMADDWD   Y2, Y9, Y9 \
	VPMADDUBSW XH(SI)(R13*2), Y0, Y7 \
	VPMADDWD   Y4, Y7, Y7 \
	VPADDD     Y9, Y7, Y7 \
	VPMADDUBSW XL(SI)(R10*1), Y1, Y9 \
	VPMADDWD   Y2, Y9, Y9 \
	VPMADDUBSW XH(SI)(R10*1), Y0, Y8 \
	VPMADDWD   Y4, Y8, Y8 \
	VPADDD     Y9, Y8, Y8 \
	VPHADDD    Y6, Y5, Y5 \
	VPHADDD    Y8, Y7, Y7 \
	VPHADDD    Y7, Y5, Y5 \
	VEXTRACTI128 $1, Y5, X6 \
	VPADDD     X6, X5, X5 \
	CMPQ perSub+64(FP), $0 \
	JE   4(PC) \
	VCVTDQ2PS X5, X5 \
	VFMADD231PS X14, X5, X12 \
	JMP 2(PC) \
	VPADDD X5, X10, X10

// X4BSUM sets P to the minimums' terms (four int32, one per step) of
// the activation row whose 16-value sums are at ADDR, against the
// minimums in X2. Clobbers Y0, Y1.
#define X4BSUM(ADDR, P) \
	VMOVDQU      ADDR, Y0 \
	VEXTRACTI128 $1, Y0, X1 \
	VPHADDW      X1, X0, P \
	VPMADDWD     X2, P, P

// func gemvQ4KQ8Kx8AVX2(w, xq *byte, xd *float32, xb *int16, y *float32, groups, nblocks, perSub int)
// y[r] = dotQ4KQ8KRepack(Q4_K row r of nblocks super-blocks, xq, xd, xb)
// for r < 8·groups, eight rows per pass: the rows' d·dx, dmin·dx and
// accumulators in the eight float lanes, the activations loaded once per
// block for the eight, the next group's block prefetched.
// Frame: 0..127 the rows' step sums, 128..255 their minimums' terms, 256
// blocks left, 264 row bytes, 272 group bytes.
TEXT ·gemvQ4KQ8Kx8AVX2(SB), NOSPLIT, $296-64
	MOVQ  w+0(FP), R8
	MOVQ  y+32(FP), DI
	MOVQ  groups+40(FP), R12
	MOVQ  nblocks+48(FP), AX
	IMULQ $144, AX
	MOVQ  AX, 264(SP)
	SHLQ  $3, AX
	MOVQ  AX, 272(SP)
	BCASTD($0x0f0f0f0f, X15, Y15)

x8grp:
	TESTQ R12, R12
	JE    x8done
	MOVQ  xq+8(FP), SI
	MOVQ  xd+16(FP), DX
	MOVQ  xb+24(FP), R9
	MOVQ  nblocks+48(FP), AX
	MOVQ  AX, 256(SP)
	MOVQ  272(SP), AX
	ADDQ  R8, AX
	MOVQ  AX, 280(SP)
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9

x8blk:
	// X13 = the activation's 16-value sums added in pairs.
	VMOVDQU      (R9), Y4
	VEXTRACTI128 $1, Y4, X5
	VPHADDW      X5, X4, X13

	// The next group's weights, in order, 1152 bytes a block: into L1
	// when a group is at most 4 KiB, else into L2 (measured on the
	// development VM, weights streaming from memory: 768 columns, T0 10%
	// faster than the row kernel, T1 5% slower; 2048 columns, T0 30%
	// slower, T1 on a par).
	MOVQ 280(SP), AX
	CMPQ 272(SP), $4096
	JA   x8pf1
	PREFETCHT0 0(AX)
	PREFETCHT0 64(AX)
	PREFETCHT0 128(AX)
	PREFETCHT0 192(AX)
	PREFETCHT0 256(AX)
	PREFETCHT0 320(AX)
	PREFETCHT0 384(AX)
	PREFETCHT0 448(AX)
	PREFETCHT0 512(AX)
	PREFETCHT0 576(AX)
	PREFETCHT0 640(AX)
	PREFETCHT0 704(AX)
	PREFETCHT0 768(AX)
	PREFETCHT0 832(AX)
	PREFETCHT0 896(AX)
	PREFETCHT0 960(AX)
	PREFETCHT0 1024(AX)
	PREFETCHT0 1088(AX)
	JMP  x8pfdone

x8pf1:
	PREFETCHT1 0(AX)
	PREFETCHT1 64(AX)
	PREFETCHT1 128(AX)
	PREFETCHT1 192(AX)
	PREFETCHT1 256(AX)
	PREFETCHT1 320(AX)
	PREFETCHT1 384(AX)
	PREFETCHT1 448(AX)
	PREFETCHT1 512(AX)
	PREFETCHT1 576(AX)
	PREFETCHT1 640(AX)
	PREFETCHT1 704(AX)
	PREFETCHT1 768(AX)
	PREFETCHT1 832(AX)
	PREFETCHT1 896(AX)
	PREFETCHT1 960(AX)
	PREFETCHT1 1024(AX)
	PREFETCHT1 1088(AX)

x8pfdone:
	ADDQ $1152, 280(SP)

	// Rows 0, 1, 4, 5's (d, dmin) into X11, rows 2, 3, 6, 7's into X12.
	MOVQ R8, R11
	X8ROW(0, 128, X11, 0)
	X8ROW(16, 144, X11, 1)
	X8ROW(32, 160, X12, 0)
	X8ROW(48, 176, X12, 1)
	X8ROW(64, 192, X11, 2)
	X8ROW(80, 208, X11, 3)
	X8ROW(96, 224, X12, 2)
	X8ROW(112, 240, X12, 3)

	// Y0 = d·dx, Y1 = dmin·dx of rows 0..7.
	VCVTPH2PS    X11, Y11
	VCVTPH2PS    X12, Y12
	VSHUFPS      $0x88, Y12, Y11, Y0
	VSHUFPS      $0xdd, Y12, Y11, Y1
	VBROADCASTSS (DX), Y2
	VMULPS       Y2, Y0, Y0
	VMULPS       Y2, Y1, Y1

	X8TRANS(0, 16, 32, 48, 64, 80, 96, 112)
	X8ACC(Y0, Y8, x8s, x8sdone)
	X8TRANS(128, 144, 160, 176, 192, 208, 224, 240)
	X8ACC(Y1, Y9, x8m, x8mdone)

	ADDQ $144, R8
	ADDQ $256, SI
	ADDQ $4, DX
	ADDQ $32, R9
	DECQ 256(SP)
	JNZ  x8blk

	VSUBPS  Y9, Y8, Y8
	VMOVUPS Y8, (DI)
	ADDQ    $32, DI
	// R8 is one row past the group's first: on to the next group.
	MOVQ  264(SP), AX
	IMULQ $7, AX
	ADDQ  AX, R8
	DECQ  R12
	JMP   x8grp

x8done:
	VZEROUPPER
	RET

// func gemmQ4KQ8Kx4AVX2(w, xq *byte, xd *float32, xb *int16, y *float32, rows, nblocks, ystride, perSub int)
// y[b·ystride + r] = dotQ4KQ8KRepack(Q4_K row r, activation row b) for
// r < rows, b < 4: one weight row per pass (a single stream), each step's
// nibbles unpacked once for the four activation rows (xq, xd, xb holding
// four rows of nblocks blocks each), their d·dx, dmin·dx and accumulators
// in four float lanes. Frame: 0 blocks left, 8 rows left, 16 nblocks·4.
TEXT ·gemmQ4KQ8Kx4AVX2(SB), NOSPLIT, $24-72
	MOVQ  w+0(FP), R8
	MOVQ  y+32(FP), DI
	MOVQ  rows+40(FP), AX
	MOVQ  AX, 8(SP)
	MOVQ  nblocks+48(FP), AX
	SHLQ  $2, AX
	MOVQ  AX, 16(SP)
	SHLQ  $6, AX
	MOVQ  AX, R13               // activation row stride (cols)
	LEAQ  (R13)(R13*2), R10     // three rows
	BCASTD($0x0f0f0f0f, X15, Y15)

x4row:
	CMPQ  8(SP), $0
	JE    x4done
	MOVQ  xq+8(FP), SI
	MOVQ  xd+16(FP), DX
	MOVQ  xb+24(FP), R9
	MOVQ  nblocks+48(FP), AX
	MOVQ  AX, 0(SP)
	VXORPS X11, X11, X11
	VXORPS X12, X12, X12

x4blk:
	// X14 = d·dx, X13 = dmin·dx of the four activation rows.
	MOVQ      16(SP), AX
	LEAQ      (AX)(AX*2), BX
	VMOVSS    (DX), X0
	VINSERTPS $0x10, (DX)(AX*1), X0, X0
	VINSERTPS $0x20, (DX)(AX*2), X0, X0
	VINSERTPS $0x30, (DX)(BX*1), X0, X0
	MOVWLZX   (R8), CX
	VMOVQ     CX, X1
	VCVTPH2PS X1, X1
	VBROADCASTSS X1, X14
	VMULPS    X0, X14, X14
	MOVWLZX   2(R8), CX
	VMOVQ     CX, X1
	VCVTPH2PS X1, X1
	VBROADCASTSS X1, X13
	VMULPS    X0, X13, X13

	X8SCALES(R8, R11, R12)

	// Minimums' terms: X5…X8 per activation row, one int32 per step.
	VEXTRACTI128 $1, Y3, X2
	MOVQ 16(SP), AX
	SHLQ $3, AX
	LEAQ (AX)(AX*2), BX
	X4BSUM((R9), X5)
	X4BSUM((R9)(AX*1), X6)
	X4BSUM((R9)(AX*2), X7)
	X4BSUM((R9)(BX*1), X8)
	CMPQ perSub+64(FP), $0
	JNE  x4msub
	VPHADDD X6, X5, X5
	VPHADDD X8, X7, X7
	VPHADDD X7, X5, X5
	VCVTDQ2PS X5, X5
	VFMADD231PS X13, X5, X11
	JMP x4mdone

x4msub:
	VPUNPCKLDQ  X6, X5, X9
	VPUNPCKHDQ  X6, X5, X10
	VPUNPCKLDQ  X8, X7, X2
	VPUNPCKHDQ  X8, X7, X4
	VPUNPCKLQDQ X2, X9, X5
	VPUNPCKHQDQ X2, X9, X6
	VPUNPCKLQDQ X4, X10, X7
	VPUNPCKHQDQ X4, X10, X8
	VCVTDQ2PS   X5, X5
	VCVTDQ2PS   X6, X6
	VCVTDQ2PS   X7, X7
	VCVTDQ2PS   X8, X8
	VFMADD231PS X13, X5, X11
	VFMADD231PS X13, X6, X11
	VFMADD231PS X13, X7, X11
	VFMADD231PS X13, X8, X11

x4mdone:
	VPERMQ $0x44, Y3, Y3
	VPXOR  X10, X10, X10
	X4STEP(16, 0, 32, 0, 32)
	X4STEP(48, 64, 96, 64, 96)
	X4STEP(80, 128, 160, 128, 160)
	X4STEP(112, 192, 224, 192, 224)
	CMPQ perSub+64(FP), $0
	JNE  x4next
	VCVTDQ2PS   X10, X10
	VFMADD231PS X14, X10, X12

x4next:
	ADDQ $144, R8
	ADDQ $256, SI
	ADDQ $4, DX
	ADDQ $32, R9
	DECQ 0(SP)
	JNZ  x4blk

	VSUBPS     X11, X12, X12
	MOVQ       ystride+56(FP), AX
	SHLQ       $2, AX
	LEAQ       (AX)(AX*2), BX
	VMOVSS     X12, (DI)
	VEXTRACTPS $1, X12, (DI)(AX*1)
	VEXTRACTPS $2, X12, (DI)(AX*2)
	VEXTRACTPS $3, X12, (DI)(BX*1)
	ADDQ       $4, DI
	DECQ       8(SP)
	JMP        x4row

x4done:
	VZEROUPPER
	RET

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
