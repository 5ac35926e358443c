#include "textflag.h"
#include "vec_amd64.h"

// BLOCKARGS loads the block kernels' first three arguments: blocks into
// SI, x into DI, nblocks into CX (their signature is
// func(blocks *byte, x *float32, nblocks int, tmp *float32) float32).
#define BLOCKARGS \
	MOVQ blocks+0(FP), SI \
	MOVQ x+8(FP), DI \
	MOVQ nblocks+16(FP), CX

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
	BLOCKARGS
	MOVQ tmp+24(FP), BX
	VXORPS Y0, Y0, Y0
	VXORPS Y8, Y8, Y8
	BCASTD($0x0f, X14, Y14)

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
	BLOCKARGS
	MOVQ tmp+24(FP), BX
	VXORPS Y0, Y0, Y0
	BCASTD($0x0f, X14, Y14)
	BCASTD($0x30, X13, Y13)
	BCASTD($32, X12, Y12)

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
	BLOCKARGS
	MOVQ tmp+24(FP), BX
	VXORPS Y0, Y0, Y0
	VXORPS Y8, Y8, Y8
	BCASTD($0x0f, X14, Y14)
	BCASTD($0x10, X12, Y12)

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
	BLOCKARGS
	VXORPS Y0, Y0, Y0
	BCASTD($0x0f, X14, Y14)
	BCASTD($8, X13, Y13)

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

// lanes holds 0..7, the lane numbers the Q5 kernels shift qh by.
DATA lanes<>+0(SB)/4, $0
DATA lanes<>+4(SB)/4, $1
DATA lanes<>+8(SB)/4, $2
DATA lanes<>+12(SB)/4, $3
DATA lanes<>+16(SB)/4, $4
DATA lanes<>+20(SB)/4, $5
DATA lanes<>+24(SB)/4, $6
DATA lanes<>+28(SB)/4, $7
GLOBL lanes<>(SB), RODATA|NOPTR, $32

// Q4_1, Q5_0 and Q5_1 blocks hold 32 weights whose low nibbles (16 bytes
// at the block's qs) are weights 0..15 and high nibbles 16..31. Q5 blocks
// add a fifth bit per weight from the 32-bit qh: bit j for weight j. Q4_1
// and Q5_1 weights are d·q + m; Q5_0 weights d·(q − 16).

// HALFBCAST broadcasts the f16 at OFF(SI) as a float to every lane of Y.
#define HALFBCAST(OFF, X, Y) \
	MOVWLZX OFF(SI), AX \
	VMOVQ AX, X \
	VCVTPH2PS X, X \
	VBROADCASTSS X, Y

// LEGACYCHUNK loads the 8 bytes at QS+L: low nibbles (weights L..L+7) to
// Y6, high nibbles (L+16..L+23) to Y5.
#define LEGACYCHUNK(QS, L) \
	VPMOVZXBD (QS+L)(SI), Y5 \
	VPAND Y14, Y5, Y6 \
	VPSRLD $4, Y5, Y5

// FIFTHBITS ORs bit 4 of Y6 and Y5 from qh (broadcast in Y15) shifted
// right by the lane indices IDXLO and IDXHI.
#define FIFTHBITS(IDXLO, IDXHI) \
	VPSRLVD IDXLO, Y15, Y11 \
	VPSLLD $31, Y11, Y11 \
	VPSRLD $27, Y11, Y11 \
	VPOR Y11, Y6, Y6 \
	VPSRLVD IDXHI, Y15, Y12 \
	VPSLLD $31, Y12, Y12 \
	VPSRLD $27, Y12, Y12 \
	VPOR Y12, Y5, Y5

// LEGACYACC subtracts the bias (Y13) from weights L.. (Y6) and L+16..
// (Y5), adds their products with x to Y1 and the x values to Y2.
#define LEGACYACC(L) \
	VPSUBD Y13, Y6, Y6 \
	VPSUBD Y13, Y5, Y5 \
	VCVTDQ2PS Y6, Y6 \
	VCVTDQ2PS Y5, Y5 \
	VMOVUPS (4*L)(DI), Y7 \
	VMOVUPS (4*L+64)(DI), Y9 \
	VFMADD231PS Y7, Y6, Y1 \
	VFMADD231PS Y9, Y5, Y1 \
	VADDPS Y7, Y2, Y2 \
	VADDPS Y9, Y2, Y2

// LEGACYSETUP loads the arguments and constants: Y14 = 0x0f, Y13 = BIAS,
// Y3, Y4, Y8, Y10 = lane numbers + 0, 8, 16, 24.
#define LEGACYSETUP(BIAS) \
	BLOCKARGS \
	VXORPS Y0, Y0, Y0 \
	BCASTD($0x0f, X14, Y14) \
	BCASTD(BIAS, X13, Y13) \
	VMOVDQU lanes<>(SB), Y3 \
	BCASTD($8, X11, Y11) \
	VPADDD Y11, Y3, Y4 \
	VPADDD Y11, Y4, Y8 \
	VPADDD Y11, Y8, Y10

// func q41DotAVX2(blocks *byte, x *float32, nblocks int, tmp *float32) float32
// Q4_1: d, m (f16) at 0 and 2, qs at 4; 20 bytes. tmp is unused.
TEXT ·q41DotAVX2(SB), NOSPLIT, $0-36
	LEGACYSETUP($0)

q41blk:
	TESTQ CX, CX
	JE    q41done
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	LEGACYCHUNK(4, 0)
	LEGACYACC(0)
	LEGACYCHUNK(4, 8)
	LEGACYACC(8)
	HALFBCAST(0, X6, Y6)
	VFMADD231PS Y1, Y6, Y0
	HALFBCAST(2, X7, Y7)
	VFMADD231PS Y2, Y7, Y0
	ADDQ $20, SI
	ADDQ $128, DI
	DECQ CX
	JMP  q41blk

q41done:
	HSUMY0
	VMOVSS X0, ret+32(FP)
	VZEROUPPER
	RET

// func q50DotAVX2(blocks *byte, x *float32, nblocks int, tmp *float32) float32
// Q5_0: d (f16) at 0, qh at 2, qs at 6; 22 bytes. tmp is unused.
TEXT ·q50DotAVX2(SB), NOSPLIT, $0-36
	LEGACYSETUP($16)

q50blk:
	TESTQ CX, CX
	JE    q50done
	VXORPS Y1, Y1, Y1
	VPBROADCASTD 2(SI), Y15
	LEGACYCHUNK(6, 0)
	FIFTHBITS(Y3, Y8)
	LEGACYACC(0)
	LEGACYCHUNK(6, 8)
	FIFTHBITS(Y4, Y10)
	LEGACYACC(8)
	HALFBCAST(0, X6, Y6)
	VFMADD231PS Y1, Y6, Y0
	ADDQ $22, SI
	ADDQ $128, DI
	DECQ CX
	JMP  q50blk

q50done:
	HSUMY0
	VMOVSS X0, ret+32(FP)
	VZEROUPPER
	RET

// func q51DotAVX2(blocks *byte, x *float32, nblocks int, tmp *float32) float32
// Q5_1: d, m (f16) at 0 and 2, qh at 4, qs at 8; 24 bytes. tmp is unused.
TEXT ·q51DotAVX2(SB), NOSPLIT, $0-36
	LEGACYSETUP($0)

q51blk:
	TESTQ CX, CX
	JE    q51done
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VPBROADCASTD 4(SI), Y15
	LEGACYCHUNK(8, 0)
	FIFTHBITS(Y3, Y8)
	LEGACYACC(0)
	LEGACYCHUNK(8, 8)
	FIFTHBITS(Y4, Y10)
	LEGACYACC(8)
	HALFBCAST(0, X6, Y6)
	VFMADD231PS Y1, Y6, Y0
	HALFBCAST(2, X7, Y7)
	VFMADD231PS Y2, Y7, Y0
	ADDQ $24, SI
	ADDQ $128, DI
	DECQ CX
	JMP  q51blk

q51done:
	HSUMY0
	VMOVSS X0, ret+32(FP)
	VZEROUPPER
	RET

// Q2_K super-block: sixteen bytes of 4-bit scales (low nibble) and
// minimums (high) at 0, 64 bytes of 2-bit weights at 16, d and dmin (f16)
// at 80 and 82; 84 bytes for 256 weights. Weight 128n + 32j + 16g + l is
// bits 2j..2j+1 of byte 16 + 32n + 16g + l, in group 8n + 2j + g, and
// equals d·sc·q − dmin·m.

// Q2CHUNK adds 8 weights of group (N, J, G) from byte offset C to Y1
// (Σq·x) and Y2 (Σx). Y13 holds 3 in every lane.
#define Q2CHUNK(N, J, G, C) \
	VPMOVZXBD (16+32*N+16*G+C)(SI), Y5 \
	VPSRLD $(2*J), Y5, Y5 \
	VPAND Y13, Y5, Y5 \
	VCVTDQ2PS Y5, Y5 \
	VMOVUPS (4*(128*N+32*J+16*G+C))(DI), Y7 \
	VFMADD231PS Y7, Y5, Y1 \
	VADDPS Y7, Y2, Y2

// Q2GROUP adds group (N, J, G), scaled, to Y0 and its minimum term to Y8.
#define Q2GROUP(N, J, G) \
	VXORPS Y1, Y1, Y1 \
	VXORPS Y2, Y2, Y2 \
	Q2CHUNK(N, J, G, 0) \
	Q2CHUNK(N, J, G, 8) \
	VBROADCASTSS (4*(8*N+2*J+G))(BX), Y5 \
	VFMADD231PS Y1, Y5, Y0 \
	VBROADCASTSS (64+4*(8*N+2*J+G))(BX), Y6 \
	VFMADD231PS Y2, Y6, Y8

// func q2kDotAVX2(blocks *byte, x *float32, nblocks int, tmp *float32) float32
// tmp holds 32 floats: the block's d·sc then dmin·m.
TEXT ·q2kDotAVX2(SB), NOSPLIT, $0-36
	BLOCKARGS
	MOVQ tmp+24(FP), BX
	VXORPS Y0, Y0, Y0
	VXORPS Y8, Y8, Y8
	BCASTD($3, X13, Y13)
	BCASTD($0x0f, X14, Y14)

q2blk:
	TESTQ CX, CX
	JE    q2done
	HALFBCAST(80, X3, Y3)
	HALFBCAST(82, X4, Y4)
	VPMOVZXBD (SI), Y1
	VPMOVZXBD 8(SI), Y2
	VPAND Y14, Y1, Y5
	VPAND Y14, Y2, Y6
	VPSRLD $4, Y1, Y1
	VPSRLD $4, Y2, Y2
	VCVTDQ2PS Y5, Y5
	VCVTDQ2PS Y6, Y6
	VCVTDQ2PS Y1, Y1
	VCVTDQ2PS Y2, Y2
	VMULPS Y3, Y5, Y5
	VMULPS Y3, Y6, Y6
	VMULPS Y4, Y1, Y1
	VMULPS Y4, Y2, Y2
	VMOVUPS Y5, (BX)
	VMOVUPS Y6, 32(BX)
	VMOVUPS Y1, 64(BX)
	VMOVUPS Y2, 96(BX)
	Q2GROUP(0, 0, 0)
	Q2GROUP(0, 0, 1)
	Q2GROUP(0, 1, 0)
	Q2GROUP(0, 1, 1)
	Q2GROUP(0, 2, 0)
	Q2GROUP(0, 2, 1)
	Q2GROUP(0, 3, 0)
	Q2GROUP(0, 3, 1)
	Q2GROUP(1, 0, 0)
	Q2GROUP(1, 0, 1)
	Q2GROUP(1, 1, 0)
	Q2GROUP(1, 1, 1)
	Q2GROUP(1, 2, 0)
	Q2GROUP(1, 2, 1)
	Q2GROUP(1, 3, 0)
	Q2GROUP(1, 3, 1)
	ADDQ $84, SI
	ADDQ $1024, DI
	DECQ CX
	JMP  q2blk

q2done:
	VSUBPS Y8, Y0, Y0
	HSUMY0
	VMOVSS X0, ret+32(FP)
	VZEROUPPER
	RET

// Q3_K super-block: 32 bytes of high bits (hmask) at 0, 64 bytes of 2-bit
// low parts at 32, twelve bytes of packed 6-bit scales at 96, d (f16) at
// 108; 110 bytes for 256 weights. Weight 128n + 32j + 16g + l takes bits
// 2j..2j+1 of byte 32 + 32n + 16g + l, minus 4 unless bit 4n + j of
// hmask[16g + l] is set, in group 8n + 2j + g with scale d·(sc − 32).

// Q3CHUNK adds 8 weights of group (N, J, G) from byte offset C to Y1.
// Y13 holds 3 and Y14 holds 4 in every lane.
#define Q3CHUNK(N, J, G, C) \
	VPMOVZXBD (32+32*N+16*G+C)(SI), Y5 \
	VPSRLD $(2*J), Y5, Y5 \
	VPAND Y13, Y5, Y5 \
	VPMOVZXBD (16*G+C)(SI), Y6 \
	VPSLLD $(31-4*N-J), Y6, Y6 \
	VPSRLD $31, Y6, Y6 \
	VPSLLD $2, Y6, Y6 \
	VPADDD Y6, Y5, Y5 \
	VPSUBD Y14, Y5, Y5 \
	VCVTDQ2PS Y5, Y5 \
	VFMADD231PS (4*(128*N+32*J+16*G+C))(DI), Y5, Y1

// Q3GROUP adds group (N, J, G), scaled, to Y0.
#define Q3GROUP(N, J, G) \
	VXORPS Y1, Y1, Y1 \
	Q3CHUNK(N, J, G, 0) \
	Q3CHUNK(N, J, G, 8) \
	VBROADCASTSS (4*(8*N+2*J+G))(BX), Y5 \
	VFMADD231PS Y1, Y5, Y0

// func q3kDotAVX2(blocks *byte, x *float32, nblocks int, tmp *float32) float32
// tmp holds 16 floats: the block's d·(sc − 32).
TEXT ·q3kDotAVX2(SB), NOSPLIT, $0-36
	BLOCKARGS
	MOVQ tmp+24(FP), BX
	VXORPS Y0, Y0, Y0
	BCASTD($3, X13, Y13)
	BCASTD($4, X14, Y14)
	BCASTD($32, X12, Y12)

q3blk:
	TESTQ CX, CX
	JE    q3done
	// Unpack the sixteen 6-bit scales: low nibbles from bytes 96..103,
	// top two bits from bytes 104..107.
	MOVL 96(SI), AX
	MOVL 100(SI), DX
	MOVL 104(SI), R9
	MOVL AX, R10
	SHRL $4, R10
	ANDL $0x0f0f0f0f, R10
	MOVL R9, R11
	SHRL $4, R11
	ANDL $0x03030303, R11
	SHLL $4, R11
	ORL  R11, R10
	MOVL DX, R12
	SHRL $4, R12
	ANDL $0x0f0f0f0f, R12
	MOVL R9, R11
	SHRL $6, R11
	ANDL $0x03030303, R11
	SHLL $4, R11
	ORL  R11, R12
	ANDL $0x0f0f0f0f, AX
	MOVL R9, R11
	ANDL $0x03030303, R11
	SHLL $4, R11
	ORL  R11, AX
	ANDL $0x0f0f0f0f, DX
	MOVL R9, R11
	SHRL $2, R11
	ANDL $0x03030303, R11
	SHLL $4, R11
	ORL  R11, DX
	SHLQ $32, DX
	ORQ  AX, DX
	SHLQ $32, R12
	ORQ  R10, R12
	VMOVQ DX, X1
	VMOVQ R12, X2
	VPMOVZXBD X1, Y1
	VPMOVZXBD X2, Y2
	VPSUBD Y12, Y1, Y1
	VPSUBD Y12, Y2, Y2
	VCVTDQ2PS Y1, Y1
	VCVTDQ2PS Y2, Y2
	HALFBCAST(108, X3, Y3)
	VMULPS Y3, Y1, Y1
	VMULPS Y3, Y2, Y2
	VMOVUPS Y1, (BX)
	VMOVUPS Y2, 32(BX)
	Q3GROUP(0, 0, 0)
	Q3GROUP(0, 0, 1)
	Q3GROUP(0, 1, 0)
	Q3GROUP(0, 1, 1)
	Q3GROUP(0, 2, 0)
	Q3GROUP(0, 2, 1)
	Q3GROUP(0, 3, 0)
	Q3GROUP(0, 3, 1)
	Q3GROUP(1, 0, 0)
	Q3GROUP(1, 0, 1)
	Q3GROUP(1, 1, 0)
	Q3GROUP(1, 1, 1)
	Q3GROUP(1, 2, 0)
	Q3GROUP(1, 2, 1)
	Q3GROUP(1, 3, 0)
	Q3GROUP(1, 3, 1)
	ADDQ $110, SI
	ADDQ $1024, DI
	DECQ CX
	JMP  q3blk

q3done:
	HSUMY0
	VMOVSS X0, ret+32(FP)
	VZEROUPPER
	RET

// func bf16DotAVX2(blocks *byte, x *float32, nblocks int, tmp *float32) float32
// nblocks runs of 8 BF16 weights: each is the top half of a float32, so
// widening to 32 bits and shifting left 16 gives the float. tmp is unused.
TEXT ·bf16DotAVX2(SB), NOSPLIT, $0-36
	BLOCKARGS
	VXORPS Y0, Y0, Y0

bfblk:
	TESTQ CX, CX
	JE    bfdone
	VPMOVZXWD (SI), Y5
	VPSLLD $16, Y5, Y5
	VFMADD231PS (DI), Y5, Y0
	ADDQ $16, SI
	ADDQ $32, DI
	DECQ CX
	JMP  bfblk

bfdone:
	HSUMY0
	VMOVSS X0, ret+32(FP)
	VZEROUPPER
	RET

// Q8ROW adds one Q8_0 weight row's block (at RP+BX: f16 scale, 32 int8) times
// the activation block (Y0, scale in X2) to ACC, as ggml's
// ggml_vec_dot_q8_0_q8_0: |w| (unsigned) times x·sign(w) (signed) with
// VPMADDUBSW, pairs summed to int32 with VPMADDWD, converted, scaled by
// dw·dx.
#define Q8ROW(RP, ACC) \
	MOVWLZX (RP)(BX*1), AX \
	VMOVQ AX, X4 \
	VCVTPH2PS X4, X4 \
	VMULSS X2, X4, X4 \
	VBROADCASTSS X4, Y4 \
	VMOVDQU 2(RP)(BX*1), Y3 \
	VPSIGNB Y3, Y3, Y5 \
	VPSIGNB Y3, Y0, Y6 \
	VPMADDUBSW Y6, Y5, Y5 \
	VPMADDWD Y15, Y5, Y5 \
	VCVTDQ2PS Y5, Y5 \
	VFMADD231PS Y4, Y5, ACC

// func gemvQ8Q8AVX2(w, xq *byte, xd, y *float32, rows, nblocks int)
// One weight row at a time, a single sequential stream through the
// weights: four rows in step (sharing each activation load, as the F32
// kernel does) ran a 26 MB output matrix (stories110M Q8_0) at under half
// the speed, the four interleaved streams defeating the hardware
// prefetcher, and a software prefetch did not recover it. One accumulator
// for all blocks, as ggml_vec_dot_q8_0_q8_0 (and tinyBLAS for prompts)
// sums them: a second one for odd blocks changed last bits.
TEXT ·gemvQ8Q8AVX2(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), R8
	MOVQ y+24(FP), DI
	MOVQ rows+32(FP), R12
	VPCMPEQW Y15, Y15, Y15
	VPSRLW $15, Y15, Y15

q1row:
	TESTQ R12, R12
	JE    q1done
	MOVQ xq+8(FP), SI
	MOVQ xd+16(FP), DX
	MOVQ nblocks+40(FP), CX
	XORQ BX, BX
	VXORPS Y8, Y8, Y8

q1blk:
	TESTQ CX, CX
	JE    q1red
	VMOVDQU (SI), Y0
	VMOVSS (DX), X2
	Q8ROW(R8, Y8)
	ADDQ $32, SI
	ADDQ $4, DX
	ADDQ $34, BX
	DECQ CX
	JMP  q1blk

q1red:
	HSUM8(Y8, X8, 0(DI))
	ADDQ $4, DI
	ADDQ BX, R8
	DECQ R12
	JMP  q1row

q1done:
	VZEROUPPER
	RET

// func argmaxAVX2(x *float32, n int) int
// The first index of the largest of x[0:n], n a positive multiple of 8 (no
// NaNs): the maximum by VMAXPS over 8 lanes, then the first 8-wide group
// holding it, found with VCMPPS and VMOVMSKPS.
TEXT ·argmaxAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VMOVUPS (SI), Y0
	MOVQ $8, AX

amloop:
	CMPQ AX, CX
	JGE  amreduce
	VMAXPS (SI)(AX*4), Y0, Y0
	ADDQ $8, AX
	JMP  amloop

amreduce:
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4e, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VMAXPS X1, X0, X0
	VBROADCASTSS X0, Y0
	XORQ AX, AX

amfind:
	VCMPPS $0, (SI)(AX*4), Y0, Y1
	VMOVMSKPS Y1, DX
	TESTL DX, DX
	JNE  amfound
	ADDQ $8, AX
	CMPQ AX, CX
	JL   amfind
	XORQ AX, AX
	JMP  amret

amfound:
	BSFL DX, DX
	ADDQ DX, AX

amret:
	VZEROUPPER
	MOVQ AX, ret+16(FP)
	RET

// func gemvQ8Q8x4AVX2(w, xq *byte, xd, y *float32, groups, nblocks int)
// gemvQ8Q8AVX2 for groups×4 rows, four rows sharing each activation load:
// for weight blocks already in cache.
TEXT ·gemvQ8Q8x4AVX2(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), R8
	MOVQ y+24(FP), DI
	MOVQ groups+32(FP), R12
	MOVQ nblocks+40(FP), R13
	IMULQ $34, R13
	VPCMPEQW Y15, Y15, Y15
	VPSRLW $15, Y15, Y15

q8group:
	TESTQ R12, R12
	JE    q8done
	LEAQ (R8)(R13*1), R9
	LEAQ (R9)(R13*1), R10
	LEAQ (R10)(R13*1), R11
	MOVQ xq+8(FP), SI
	MOVQ xd+16(FP), DX
	MOVQ nblocks+40(FP), CX
	XORQ BX, BX
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

q8blk:
	TESTQ CX, CX
	JE    q8red
	VMOVDQU (SI), Y0
	VMOVSS (DX), X2
	Q8ROW(R8, Y8)
	Q8ROW(R9, Y9)
	Q8ROW(R10, Y10)
	Q8ROW(R11, Y11)
	ADDQ $32, SI
	ADDQ $4, DX
	ADDQ $34, BX
	DECQ CX
	JMP  q8blk

q8red:
	HSUM8(Y8, X8, 0(DI))
	HSUM8(Y9, X9, 4(DI))
	HSUM8(Y10, X10, 8(DI))
	HSUM8(Y11, X11, 12(DI))
	ADDQ $16, DI
	LEAQ (R8)(R13*4), R8
	DECQ R12
	JMP  q8group

q8done:
	VZEROUPPER
	RET
