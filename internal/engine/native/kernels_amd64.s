#include "textflag.h"

// func dotAVX2(a, b *float32, n int) float32
TEXT ·dotAVX2(SB), NOSPLIT, $0-28
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

loop32:
	CMPQ CX, $32
	JL   loop8
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop32

loop8:
	CMPQ CX, $8
	JL   reduce
	VMOVUPS (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  loop8

reduce:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0

tail:
	TESTQ CX, CX
	JE    done
	VMOVSS (SI), X1
	VFMADD231SS (DI), X1, X0
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP  tail

done:
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func gemvAVX2(w, x, y *float32, rows, cols int)
// y[r] = dot(w[r*cols:(r+1)*cols], x) for r < rows; cols must be a
// multiple of 8. Four rows share each load of x; two accumulators per row
// while 16 or more columns remain.
TEXT ·gemvAVX2(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ y+16(FP), DX
	MOVQ rows+24(FP), R8
	MOVQ cols+32(FP), R10
	SHLQ $2, R10

rows4:
	CMPQ R8, $4
	JL   rows1
	LEAQ (SI)(R10*1), R11
	LEAQ (R11)(R10*1), R12
	LEAQ (R12)(R10*1), R13
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ AX, AX
	MOVQ R10, BX
	SUBQ $64, BX

loop4x16:
	CMPQ AX, BX
	JG   loop4
	VMOVUPS (DI)(AX*1), Y8
	VMOVUPS 32(DI)(AX*1), Y9
	VFMADD231PS (SI)(AX*1), Y8, Y0
	VFMADD231PS (R11)(AX*1), Y8, Y1
	VFMADD231PS (R12)(AX*1), Y8, Y2
	VFMADD231PS (R13)(AX*1), Y8, Y3
	VFMADD231PS 32(SI)(AX*1), Y9, Y4
	VFMADD231PS 32(R11)(AX*1), Y9, Y5
	VFMADD231PS 32(R12)(AX*1), Y9, Y6
	VFMADD231PS 32(R13)(AX*1), Y9, Y7
	ADDQ $64, AX
	JMP  loop4x16

loop4:
	CMPQ AX, R10
	JGE  reduce4
	VMOVUPS (DI)(AX*1), Y8
	VFMADD231PS (SI)(AX*1), Y8, Y0
	VFMADD231PS (R11)(AX*1), Y8, Y1
	VFMADD231PS (R12)(AX*1), Y8, Y2
	VFMADD231PS (R13)(AX*1), Y8, Y3
	ADDQ $32, AX
	JMP  loop4

reduce4:
	VADDPS Y4, Y0, Y0
	VADDPS Y5, Y1, Y1
	VADDPS Y6, Y2, Y2
	VADDPS Y7, Y3, Y3
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVUPS X0, (DX)
	ADDQ $16, DX
	LEAQ (R13)(R10*1), SI
	SUBQ $4, R8
	JMP  rows4

rows1:
	TESTQ R8, R8
	JE    done
	VXORPS Y0, Y0, Y0
	XORQ AX, AX

loop1:
	CMPQ AX, R10
	JGE  reduce1
	VMOVUPS (DI)(AX*1), Y4
	VFMADD231PS (SI)(AX*1), Y4, Y0
	ADDQ $32, AX
	JMP  loop1

reduce1:
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMOVSS X0, (DX)
	ADDQ $4, DX
	ADDQ R10, SI
	DECQ R8
	JMP  rows1

done:
	VZEROUPPER
	RET

// func f16ToF32AVX2(src *uint16, dst *float32, n int)
// Converts n half floats (n a multiple of 8) with F16C.
TEXT ·f16ToF32AVX2(SB), NOSPLIT, $0-24
	MOVQ src+0(FP), SI
	MOVQ dst+8(FP), DI
	MOVQ n+16(FP), CX

f16loop:
	CMPQ CX, $8
	JL   f16done
	VCVTPH2PS (SI), Y0
	VMOVUPS Y0, (DI)
	ADDQ $16, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  f16loop

f16done:
	VZEROUPPER
	RET

// func q80ToF32AVX2(src *byte, dst *float32, nblocks int)
// Decodes Q8_0 blocks (an f16 scale, then 32 int8 values) to float32.
TEXT ·q80ToF32AVX2(SB), NOSPLIT, $0-24
	MOVQ src+0(FP), SI
	MOVQ dst+8(FP), DI
	MOVQ nblocks+16(FP), CX

q8loop:
	TESTQ CX, CX
	JE    q8done
	MOVWLZX (SI), AX
	VMOVQ AX, X1
	VCVTPH2PS X1, X1
	VBROADCASTSS X1, Y1
	VPMOVSXBD 2(SI), Y2
	VPMOVSXBD 10(SI), Y3
	VPMOVSXBD 18(SI), Y4
	VPMOVSXBD 26(SI), Y5
	VCVTDQ2PS Y2, Y2
	VCVTDQ2PS Y3, Y3
	VCVTDQ2PS Y4, Y4
	VCVTDQ2PS Y5, Y5
	VMULPS Y1, Y2, Y2
	VMULPS Y1, Y3, Y3
	VMULPS Y1, Y4, Y4
	VMULPS Y1, Y5, Y5
	VMOVUPS Y2, (DI)
	VMOVUPS Y3, 32(DI)
	VMOVUPS Y4, 64(DI)
	VMOVUPS Y5, 96(DI)
	ADDQ $34, SI
	ADDQ $128, DI
	DECQ CX
	JMP  q8loop

q8done:
	VZEROUPPER
	RET

// func gemvF16AVX2(w *uint16, x, y *float32, rows, cols int)
// y[r] = dot(w row r (half floats), x); cols must be a multiple of 8.
TEXT ·gemvF16AVX2(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ y+16(FP), DX
	MOVQ rows+24(FP), R8
	MOVQ cols+32(FP), R10
	SHLQ $1, R10

h4:
	CMPQ R8, $4
	JL   h1
	LEAQ (SI)(R10*1), R11
	LEAQ (R11)(R10*1), R12
	LEAQ (R12)(R10*1), R13
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ AX, AX
	XORQ BX, BX

h4loop:
	CMPQ BX, R10
	JGE  h4red
	VMOVUPS (DI)(AX*1), Y8
	VCVTPH2PS (SI)(BX*1), Y4
	VCVTPH2PS (R11)(BX*1), Y5
	VCVTPH2PS (R12)(BX*1), Y6
	VCVTPH2PS (R13)(BX*1), Y7
	VFMADD231PS Y4, Y8, Y0
	VFMADD231PS Y5, Y8, Y1
	VFMADD231PS Y6, Y8, Y2
	VFMADD231PS Y7, Y8, Y3
	ADDQ $32, AX
	ADDQ $16, BX
	JMP  h4loop

h4red:
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVUPS X0, (DX)
	ADDQ $16, DX
	LEAQ (R13)(R10*1), SI
	SUBQ $4, R8
	JMP  h4

h1:
	TESTQ R8, R8
	JE    hdone
	VXORPS Y0, Y0, Y0
	XORQ AX, AX
	XORQ BX, BX

h1loop:
	CMPQ BX, R10
	JGE  h1red
	VMOVUPS (DI)(AX*1), Y8
	VCVTPH2PS (SI)(BX*1), Y4
	VFMADD231PS Y4, Y8, Y0
	ADDQ $32, AX
	ADDQ $16, BX
	JMP  h1loop

h1red:
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMOVSS X0, (DX)
	ADDQ $4, DX
	ADDQ R10, SI
	DECQ R8
	JMP  h1

hdone:
	VZEROUPPER
	RET

// func gemvQ80AVX2(w *byte, x, y *float32, rows, nblocks int)
// y[r] = dot(Q8_0 row r of nblocks blocks, x): per block, the int8 values
// times x are summed, then scaled by the block's f16 scale.
TEXT ·gemvQ80AVX2(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ y+16(FP), DX
	MOVQ rows+24(FP), R8
	MOVQ nblocks+32(FP), R9

qrow:
	TESTQ R8, R8
	JE    qdone
	VXORPS Y0, Y0, Y0
	VXORPS Y6, Y6, Y6
	MOVQ DI, R11
	MOVQ R9, CX

qblk:
	TESTQ CX, CX
	JE    qred
	MOVWLZX (SI), AX
	VMOVQ AX, X1
	VCVTPH2PS X1, X1
	VBROADCASTSS X1, Y1
	VPMOVSXBD 2(SI), Y2
	VPMOVSXBD 10(SI), Y3
	VPMOVSXBD 18(SI), Y4
	VPMOVSXBD 26(SI), Y5
	VCVTDQ2PS Y2, Y2
	VCVTDQ2PS Y3, Y3
	VCVTDQ2PS Y4, Y4
	VCVTDQ2PS Y5, Y5
	VMULPS (R11), Y2, Y2
	VMULPS 32(R11), Y3, Y3
	VFMADD231PS 64(R11), Y4, Y2
	VFMADD231PS 96(R11), Y5, Y3
	VADDPS Y3, Y2, Y2
	VFMADD231PS Y2, Y1, Y0
	ADDQ $34, SI
	ADDQ $128, R11
	DECQ CX
	JMP  qblk

qred:
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMOVSS X0, (DX)
	ADDQ $4, DX
	DECQ R8
	JMP  qrow

qdone:
	VZEROUPPER
	RET

// Q4_K super-block: d, dmin (f16) at 0 and 2, twelve bytes of packed 6-bit
// scales and minimums at 4, 128 bytes of nibbles at 16; 144 bytes for 256
// weights. Weight = d·sc_g·q − dmin·m_g for its 32-element group g, so
// dot(row, x) = Σ_g d·sc_g·Σ q·x − dmin·m_g·Σ x, both sums per group.

// Q4KCHUNK handles 8 bytes of nibbles at byte offset Q: their low nibbles
// pair with x at float offset XO (low group), high nibbles with XO+32.
#define Q4KCHUNK(Q, XO) \
	VPMOVZXBD Q(R12), Y5 \
	VPAND Y14, Y5, Y6 \
	VPSRLD $4, Y5, Y5 \
	VCVTDQ2PS Y6, Y6 \
	VCVTDQ2PS Y5, Y5 \
	VMOVUPS (4*XO)(DI), Y7 \
	VMOVUPS (4*XO+128)(DI), Y9 \
	VFMADD231PS Y7, Y6, Y1 \
	VFMADD231PS Y9, Y5, Y2 \
	VADDPS Y7, Y3, Y3 \
	VADDPS Y9, Y4, Y4

// KPAIRSUMS adds a Q4_K/Q5_K group pair to the sums: Y1, Y2 (Σq·x of the
// low and high group) scaled by d·sc into Y0, and Y3, Y4 (Σx) scaled by
// dmin·m into Y8; the pair's scales are at (R13) and 4(R13), its minimums
// at 32(R13) and 36(R13).
#define KPAIRSUMS \
	VBROADCASTSS (R13), Y5 \
	VFMADD231PS Y1, Y5, Y0 \
	VBROADCASTSS 4(R13), Y6 \
	VFMADD231PS Y2, Y6, Y0 \
	VBROADCASTSS 32(R13), Y5 \
	VFMADD231PS Y3, Y5, Y8 \
	VBROADCASTSS 36(R13), Y6 \
	VFMADD231PS Y4, Y6, Y8

// HSUMY0 leaves the horizontal sum of Y0 in X0's low lane.
#define HSUMY0 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS X1, X0, X0 \
	VHADDPS X0, X0, X0 \
	VHADDPS X0, X0, X0

// KSCALES decodes a Q4_K/Q5_K super-block's d·sc_g and dmin·m_g (its
// packed 6-bit scales and minimums, bytes 4..15) into 16 floats at (BX).
// Clobbers AX, DX, R9..R12, Y1..Y4.
#define KSCALES \
	MOVL 4(SI), AX \
	MOVL 8(SI), DX \
	MOVL 12(SI), R9 \
	MOVL AX, R10 \
	ANDL $0x3f3f3f3f, R10 \
	MOVL R9, R11 \
	ANDL $0x0f0f0f0f, R11 \
	MOVL AX, R12 \
	SHRL $6, R12 \
	ANDL $0x03030303, R12 \
	SHLL $4, R12 \
	ORL  R12, R11 \
	MOVL DX, R12 \
	ANDL $0x3f3f3f3f, R12 \
	SHRL $4, R9 \
	ANDL $0x0f0f0f0f, R9 \
	SHRL $6, DX \
	ANDL $0x03030303, DX \
	SHLL $4, DX \
	ORL  DX, R9 \
	SHLQ $32, R11 \
	ORQ  R10, R11 \
	SHLQ $32, R9 \
	ORQ  R12, R9 \
	VMOVQ R11, X1 \
	VMOVQ R9, X2 \
	VPMOVZXBD X1, Y1 \
	VPMOVZXBD X2, Y2 \
	VCVTDQ2PS Y1, Y1 \
	VCVTDQ2PS Y2, Y2 \
	MOVWLZX (SI), AX \
	VMOVQ AX, X3 \
	VCVTPH2PS X3, X3 \
	VBROADCASTSS X3, Y3 \
	MOVWLZX 2(SI), AX \
	VMOVQ AX, X4 \
	VCVTPH2PS X4, X4 \
	VBROADCASTSS X4, Y4 \
	VMULPS Y3, Y1, Y1 \
	VMULPS Y4, Y2, Y2 \
	VMOVUPS Y1, (BX) \
	VMOVUPS Y2, 32(BX)

// func q4kDotAVX2(blocks *byte, x *float32, nblocks int, tmp *float32) float32
// tmp holds 16 floats: the block's d·sc_g then dmin·m_g.
TEXT ·q4kDotAVX2(SB), NOSPLIT, $0-36
	MOVQ blocks+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ nblocks+16(FP), CX
	MOVQ tmp+24(FP), BX
	VXORPS Y0, Y0, Y0
	VXORPS Y8, Y8, Y8
	MOVQ $0x0f, AX
	VMOVQ AX, X14
	VPBROADCASTD X14, Y14

k4blk:
	TESTQ CX, CX
	JE    k4done
	KSCALES
	LEAQ 16(SI), R12
	MOVQ BX, R13
	MOVQ $4, R10

k4pair:
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	Q4KCHUNK(0, 0)
	Q4KCHUNK(8, 8)
	Q4KCHUNK(16, 16)
	Q4KCHUNK(24, 24)
	KPAIRSUMS
	ADDQ $32, R12
	ADDQ $256, DI
	ADDQ $8, R13
	DECQ R10
	JNE  k4pair
	ADDQ $144, SI
	DECQ CX
	JMP  k4blk

k4done:
	VSUBPS Y8, Y0, Y0
	HSUMY0
	VMOVSS X0, ret+32(FP)
	VZEROUPPER
	RET

// Q6_K super-block: 128 bytes of low nibbles (ql), 64 bytes of 2-bit high
// parts (qh), sixteen int8 scales at 192, d (f16) at 208; 210 bytes for 256
// weights. Weight = d·sc·(q − 32), q six bits. Each half of 128 weights
// takes 64 bytes of ql and 32 of qh: for l < 32, ql[l] and ql[l+32] give
// the low nibbles of weights l, l+32 (low) and l+64, l+96 (high), qh[l]
// their top two bits.

// Q6KQ builds eight 6-bit weights minus 32 in Y8 from low nibbles in LO,
// the top bits in Y9 (already masked to 0x30), and adds their product with
// x at byte offset XB to ACC.
#define Q6KQ(LO, XB, ACC) \
	VPOR Y9, LO, Y8 \
	VPSUBD Y12, Y8, Y8 \
	VCVTDQ2PS Y8, Y8 \
	VFMADD231PS XB(DI), Y8, ACC

// Q6KCHUNK handles l = L..L+7 of the current half.
#define Q6KCHUNK(L) \
	VPMOVZXBD L(R8), Y1 \
	VPMOVZXBD (L+32)(R8), Y2 \
	VPMOVZXBD L(R9), Y3 \
	VPAND Y14, Y1, Y10 \
	VPSLLD $4, Y3, Y9 \
	VPAND Y13, Y9, Y9 \
	Q6KQ(Y10, (4*L), Y4) \
	VPAND Y14, Y2, Y10 \
	VPSLLD $2, Y3, Y9 \
	VPAND Y13, Y9, Y9 \
	Q6KQ(Y10, (4*L+128), Y5) \
	VPSRLD $4, Y1, Y10 \
	VPAND Y13, Y3, Y9 \
	Q6KQ(Y10, (4*L+256), Y6) \
	VPSRLD $4, Y2, Y10 \
	VPSRLD $2, Y3, Y9 \
	VPAND Y13, Y9, Y9 \
	Q6KQ(Y10, (4*L+384), Y7)

// Q6KGROUP handles the 16-element group G (0 or 1) of the current half and
// adds it, scaled, to Y0.
#define Q6KGROUP(G) \
	VXORPS Y4, Y4, Y4 \
	VXORPS Y5, Y5, Y5 \
	VXORPS Y6, Y6, Y6 \
	VXORPS Y7, Y7, Y7 \
	Q6KCHUNK((16*G)) \
	Q6KCHUNK((16*G+8)) \
	VBROADCASTSS (4*G)(R13), Y8 \
	VFMADD231PS Y4, Y8, Y0 \
	VBROADCASTSS (4*G+8)(R13), Y8 \
	VFMADD231PS Y5, Y8, Y0 \
	VBROADCASTSS (4*G+16)(R13), Y8 \
	VFMADD231PS Y6, Y8, Y0 \
	VBROADCASTSS (4*G+24)(R13), Y8 \
	VFMADD231PS Y7, Y8, Y0

// func q6kDotAVX2(blocks *byte, x *float32, nblocks int, tmp *float32) float32
// tmp holds 16 floats: the block's d·sc.
TEXT ·q6kDotAVX2(SB), NOSPLIT, $0-36
	MOVQ blocks+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ nblocks+16(FP), CX
	MOVQ tmp+24(FP), BX
	VXORPS Y0, Y0, Y0
	MOVQ $0x0f, AX
	VMOVQ AX, X14
	VPBROADCASTD X14, Y14
	MOVQ $0x30, AX
	VMOVQ AX, X13
	VPBROADCASTD X13, Y13
	MOVQ $32, AX
	VMOVQ AX, X12
	VPBROADCASTD X12, Y12

k6blk:
	TESTQ CX, CX
	JE    k6done
	VPMOVSXBD 192(SI), Y1
	VPMOVSXBD 200(SI), Y2
	VCVTDQ2PS Y1, Y1
	VCVTDQ2PS Y2, Y2
	MOVWLZX 208(SI), AX
	VMOVQ AX, X3
	VCVTPH2PS X3, X3
	VBROADCASTSS X3, Y3
	VMULPS Y3, Y1, Y1
	VMULPS Y3, Y2, Y2
	VMOVUPS Y1, (BX)
	VMOVUPS Y2, 32(BX)
	MOVQ SI, R8
	LEAQ 128(SI), R9
	MOVQ BX, R13
	MOVQ $2, R10

k6half:
	Q6KGROUP(0)
	Q6KGROUP(1)
	ADDQ $64, R8
	ADDQ $32, R9
	ADDQ $512, DI
	ADDQ $32, R13
	DECQ R10
	JNE  k6half
	ADDQ $210, SI
	DECQ CX
	JMP  k6blk

k6done:
	HSUMY0
	VMOVSS X0, ret+32(FP)
	VZEROUPPER
	RET

// Q5_K super-block: Q4_K's d, dmin and scales, then 32 bytes of fifth bits
// (qh) at 16 and 128 bytes of nibbles at 48; 176 bytes for 256 weights.
// Group pair p takes its fifth bits from bits 2p (low nibbles) and 2p+1
// (high nibbles) of qh[l].

// Q5KCHUNK is Q4KCHUNK with the fifth bits from qh (R11) shifted by X13.
#define Q5KCHUNK(Q, XO) \
	VPMOVZXBD Q(R12), Y5 \
	VPMOVZXBD Q(R11), Y10 \
	VPSRLD X13, Y10, Y10 \
	VPAND Y14, Y5, Y6 \
	VPSRLD $4, Y5, Y5 \
	VPSLLD $4, Y10, Y11 \
	VPAND Y12, Y11, Y11 \
	VPOR Y11, Y6, Y6 \
	VPSLLD $3, Y10, Y11 \
	VPAND Y12, Y11, Y11 \
	VPOR Y11, Y5, Y5 \
	VCVTDQ2PS Y6, Y6 \
	VCVTDQ2PS Y5, Y5 \
	VMOVUPS (4*XO)(DI), Y7 \
	VMOVUPS (4*XO+128)(DI), Y9 \
	VFMADD231PS Y7, Y6, Y1 \
	VFMADD231PS Y9, Y5, Y2 \
	VADDPS Y7, Y3, Y3 \
	VADDPS Y9, Y4, Y4

// func q5kDotAVX2(blocks *byte, x *float32, nblocks int, tmp *float32) float32
// tmp holds 16 floats: the block's d·sc_g then dmin·m_g.
TEXT ·q5kDotAVX2(SB), NOSPLIT, $0-36
	MOVQ blocks+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ nblocks+16(FP), CX
	MOVQ tmp+24(FP), BX
	VXORPS Y0, Y0, Y0
	VXORPS Y8, Y8, Y8
	MOVQ $0x0f, AX
	VMOVQ AX, X14
	VPBROADCASTD X14, Y14
	MOVQ $0x10, AX
	VMOVQ AX, X12
	VPBROADCASTD X12, Y12

k5blk:
	TESTQ CX, CX
	JE    k5done
	KSCALES
	LEAQ 48(SI), R12
	LEAQ 16(SI), R11
	MOVQ BX, R13
	MOVQ $0, R8

k5pair:
	VMOVQ R8, X13
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	Q5KCHUNK(0, 0)
	Q5KCHUNK(8, 8)
	Q5KCHUNK(16, 16)
	Q5KCHUNK(24, 24)
	KPAIRSUMS
	ADDQ $32, R12
	ADDQ $256, DI
	ADDQ $8, R13
	ADDQ $2, R8
	CMPQ R8, $8
	JNE  k5pair
	ADDQ $176, SI
	DECQ CX
	JMP  k5blk

k5done:
	VSUBPS Y8, Y0, Y0
	HSUMY0
	VMOVSS X0, ret+32(FP)
	VZEROUPPER
	RET

// Q4_0 block: d (f16) at 0, 16 bytes at 2 whose low nibbles are weights
// 0..15 and high nibbles 16..31; weight = d·(q − 8); 18 bytes for 32.

// Q40HALF handles 8 bytes at Q: weights L..L+7 (low nibbles) and
// L+16..L+23 (high), summed into Y1.
#define Q40HALF(Q, L) \
	VPMOVZXBD Q(SI), Y5 \
	VPAND Y14, Y5, Y6 \
	VPSRLD $4, Y5, Y5 \
	VPSUBD Y13, Y6, Y6 \
	VPSUBD Y13, Y5, Y5 \
	VCVTDQ2PS Y6, Y6 \
	VCVTDQ2PS Y5, Y5 \
	VFMADD231PS (4*L)(DI), Y6, Y1 \
	VFMADD231PS (4*L+64)(DI), Y5, Y1

// func q40DotAVX2(blocks *byte, x *float32, nblocks int, tmp *float32) float32
// tmp is unused (the signature matches the k-quant kernels).
TEXT ·q40DotAVX2(SB), NOSPLIT, $0-36
	MOVQ blocks+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ nblocks+16(FP), CX
	VXORPS Y0, Y0, Y0
	MOVQ $0x0f, AX
	VMOVQ AX, X14
	VPBROADCASTD X14, Y14
	MOVQ $8, AX
	VMOVQ AX, X13
	VPBROADCASTD X13, Y13

q40blk:
	TESTQ CX, CX
	JE    q40done
	VXORPS Y1, Y1, Y1
	Q40HALF(2, 0)
	Q40HALF(10, 8)
	MOVWLZX (SI), AX
	VMOVQ AX, X3
	VCVTPH2PS X3, X3
	VBROADCASTSS X3, Y3
	VFMADD231PS Y1, Y3, Y0
	ADDQ $18, SI
	ADDQ $128, DI
	DECQ CX
	JMP  q40blk

q40done:
	HSUMY0
	VMOVSS X0, ret+32(FP)
	VZEROUPPER
	RET
