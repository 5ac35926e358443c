#include "textflag.h"
#include "vec_amd64.h"

// Integer k-quant kernels: Q4_K and Q6_K weight rows times activations
// quantised to Q8_K (256 int8 values qs, a float32 scale d and the sums of
// each 16 values, bsums), in the lanes and float order of ggml's AVX2
// ggml_vec_dot_q4_K_q8_K and ggml_vec_dot_q6_K_q8_K (see q8kdot.go for the
// portable versions they are tested against).

// k4shuf holds eight VPSHUFB patterns of 32 bytes: pattern i copies int16
// word i of each 128-bit lane to all of its words (a Q4_K scale, widened
// to 16 bits, broadcast).
DATA k4shuf<>+0(SB)/8, $0x0100010001000100
DATA k4shuf<>+8(SB)/8, $0x0100010001000100
DATA k4shuf<>+16(SB)/8, $0x0100010001000100
DATA k4shuf<>+24(SB)/8, $0x0100010001000100
DATA k4shuf<>+32(SB)/8, $0x0302030203020302
DATA k4shuf<>+40(SB)/8, $0x0302030203020302
DATA k4shuf<>+48(SB)/8, $0x0302030203020302
DATA k4shuf<>+56(SB)/8, $0x0302030203020302
DATA k4shuf<>+64(SB)/8, $0x0504050405040504
DATA k4shuf<>+72(SB)/8, $0x0504050405040504
DATA k4shuf<>+80(SB)/8, $0x0504050405040504
DATA k4shuf<>+88(SB)/8, $0x0504050405040504
DATA k4shuf<>+96(SB)/8, $0x0706070607060706
DATA k4shuf<>+104(SB)/8, $0x0706070607060706
DATA k4shuf<>+112(SB)/8, $0x0706070607060706
DATA k4shuf<>+120(SB)/8, $0x0706070607060706
DATA k4shuf<>+128(SB)/8, $0x0908090809080908
DATA k4shuf<>+136(SB)/8, $0x0908090809080908
DATA k4shuf<>+144(SB)/8, $0x0908090809080908
DATA k4shuf<>+152(SB)/8, $0x0908090809080908
DATA k4shuf<>+160(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA k4shuf<>+168(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA k4shuf<>+176(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA k4shuf<>+184(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA k4shuf<>+192(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA k4shuf<>+200(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA k4shuf<>+208(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA k4shuf<>+216(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA k4shuf<>+224(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA k4shuf<>+232(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA k4shuf<>+240(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA k4shuf<>+248(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL k4shuf<>(SB), RODATA|NOPTR, $256

// q6shuf holds eight VPSHUFB patterns of 16 bytes: pattern k is byte 2k
// eight times, then byte 2k+1 eight times (the two Q6_K scales of a 32-value
// chunk, one per 16 values).
DATA q6shuf<>+0(SB)/8, $0x0000000000000000
DATA q6shuf<>+8(SB)/8, $0x0101010101010101
DATA q6shuf<>+16(SB)/8, $0x0202020202020202
DATA q6shuf<>+24(SB)/8, $0x0303030303030303
DATA q6shuf<>+32(SB)/8, $0x0404040404040404
DATA q6shuf<>+40(SB)/8, $0x0505050505050505
DATA q6shuf<>+48(SB)/8, $0x0606060606060606
DATA q6shuf<>+56(SB)/8, $0x0707070707070707
DATA q6shuf<>+64(SB)/8, $0x0808080808080808
DATA q6shuf<>+72(SB)/8, $0x0909090909090909
DATA q6shuf<>+80(SB)/8, $0x0a0a0a0a0a0a0a0a
DATA q6shuf<>+88(SB)/8, $0x0b0b0b0b0b0b0b0b
DATA q6shuf<>+96(SB)/8, $0x0c0c0c0c0c0c0c0c
DATA q6shuf<>+104(SB)/8, $0x0d0d0d0d0d0d0d0d
DATA q6shuf<>+112(SB)/8, $0x0e0e0e0e0e0e0e0e
DATA q6shuf<>+120(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL q6shuf<>(SB), RODATA|NOPTR, $128

// KHSUM8 leaves in XR's low lane the sum of Y's eight lanes as ggml's
// hsum_float_8 adds them: (l0+h0 + l2+h2) + (l1+h1 + l3+h3), XL being Y's
// low half. Clobbers XT.
#define KHSUM8(Y, XL, XR, XT) \
	VEXTRACTF128 $1, Y, XR \
	VADDPS XL, XR, XR \
	VMOVHLPS XR, XR, XT \
	VADDPS XT, XR, XR \
	VMOVSHDUP XR, XT \
	VADDSS XT, XR, XR

// K4PAIR adds to the int32 lanes of Y4 one 64-value step of a Q4_K
// super-block: the 32 bytes of nibbles at QO(R8) (low nibbles: sub-block
// 2j, with activations at XL(SI); high: 2j+1, at XH(SI)), each
// maddubs-product widened by its sub-block's scale (from Y3 by the k4shuf
// patterns at SL and SH).
#define K4PAIR(QO, XL, XH, SL, SH) \
	VMOVDQU QO(R8), Y5 \
	VPAND Y15, Y5, Y6 \
	VPSRLW $4, Y5, Y5 \
	VPAND Y15, Y5, Y5 \
	VPMADDUBSW XL(SI), Y6, Y6 \
	VPMADDUBSW XH(SI), Y5, Y5 \
	VPSHUFB k4shuf<>+SL(SB), Y3, Y7 \
	VPMADDWD Y7, Y6, Y6 \
	VPSHUFB k4shuf<>+SH(SB), Y3, Y7 \
	VPMADDWD Y7, Y5, Y5 \
	VPADDD Y6, Y4, Y4 \
	VPADDD Y5, Y4, Y4

// K4SCALES unpacks the 6-bit scales and minimums of the Q4_K/Q5_K
// super-block at R8 (its 12 bytes at 4(R8), u0..u2) into Y3's sixteen
// words, scales (bytes 0..7) then minimums (8..15), as ggml's utmp shuffle
// does. Clobbers AX, BX, R10, R11, R13.
#define K4SCALES \
	MOVL 4(R8), AX \
	MOVL 8(R8), BX \
	MOVL 12(R8), R10 \
	MOVL R10, R11 \
	SHRL $4, R11 \
	ANDL $0x0f0f0f0f, R11 \
	MOVL BX, R13 \
	SHRL $6, R13 \
	ANDL $0x03030303, R13 \
	SHLL $4, R13 \
	ORL  R13, R11 \
	ANDL $0x0f0f0f0f, R10 \
	MOVL AX, R13 \
	SHRL $6, R13 \
	ANDL $0x03030303, R13 \
	SHLL $4, R13 \
	ORL  R13, R10 \
	ANDL $0x3f3f3f3f, BX \
	ANDL $0x3f3f3f3f, AX \
	SHLQ $32, R10 \
	ORQ  R10, AX \
	SHLQ $32, R11 \
	ORQ  R11, BX \
	VMOVQ     AX, X3 \
	VPINSRQ   $1, BX, X3, X3 \
	VPMOVZXBW X3, Y3

// func gemvQ4KQ8KAVX2(w, xq *byte, xd *float32, xb *int16, y *float32, rows, nblocks int)
// y[r] = dot(Q4_K row r of nblocks super-blocks, Q8_K activations xq, xd,
// xb). One row at a time: a single sequential stream through the weights
// (see gemvQ8Q8AVX2).
TEXT ·gemvQ4KQ8KAVX2(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), R8
	MOVQ y+32(FP), DI
	MOVQ rows+40(FP), R12
	BCASTD($0x0f0f0f0f, X15, Y15)
	BCASTD($0x80000000, X14, Y14)

k4row:
	TESTQ R12, R12
	JE    k4done
	MOVQ  xq+8(FP), SI
	MOVQ  xd+16(FP), DX
	MOVQ  xb+24(FP), R9
	MOVQ  nblocks+48(FP), CX
	VXORPS Y8, Y8, Y8
	VXORPS X9, X9, X9

k4blk:
	TESTQ CX, CX
	JE    k4red

	// d = dx·d_w in Y1, dmin = -(dx·dmin_w) in X2.
	VMOVSS       (DX), X0
	MOVWLZX      (R8), AX
	VMOVQ        AX, X1
	VCVTPH2PS    X1, X1
	VMULSS       X1, X0, X1
	VBROADCASTSS X1, Y1
	MOVWLZX      2(R8), AX
	VMOVQ        AX, X2
	VCVTPH2PS    X2, X2
	VMULSS       X2, X0, X2
	VXORPS       X14, X2, X2
	VBROADCASTSS X2, X2

	K4SCALES

	// Minimums: acc_m += dmin·(m_2v·s_2v + m_2v+1·s_2v+1), s_g the sum of
	// sub-block g's activations (pairs of bsums).
	VMOVDQU      (R9), Y4
	VEXTRACTI128 $1, Y4, X5
	VPHADDW      X5, X4, X4
	VEXTRACTI128 $1, Y3, X5
	VPMADDWD     X4, X5, X5
	VCVTDQ2PS    X5, X5
	VFMADD231PS  X5, X2, X9

	// Scales in both 128-bit lanes, then the four 64-value steps.
	VPERMQ $0x44, Y3, Y3
	VPXOR  Y4, Y4, Y4
	K4PAIR(16, 0, 32, 0, 32)
	K4PAIR(48, 64, 96, 64, 96)
	K4PAIR(80, 128, 160, 128, 160)
	K4PAIR(112, 192, 224, 192, 224)
	VCVTDQ2PS   Y4, Y4
	VFMADD231PS Y4, Y1, Y8

	ADDQ $144, R8
	ADDQ $256, SI
	ADDQ $4, DX
	ADDQ $32, R9
	DECQ CX
	JMP  k4blk

k4red:
	VMOVHLPS  X9, X9, X10
	VADDPS    X10, X9, X9
	VMOVSHDUP X9, X10
	VADDSS    X10, X9, X9
	KHSUM8(Y8, X8, X10, X11)
	VADDSS    X9, X10, X10
	VMOVSS    X10, (DI)
	ADDQ      $4, DI
	DECQ      R12
	JMP       k4row

k4done:
	VZEROUPPER
	RET

// K6TAIL finishes a Q6_K chunk whose low bits are in Y9 and high bits
// (shifted into place) in Y10: it masks the high bits to 0x30, multiplies
// with the activations at XO(SI), widens by the chunk's two scales (X1 by
// the q6shuf pattern at S) and adds to Y4.
#define K6TAIL(XO, S) \
	VPAND      Y13, Y10, Y10 \
	VPOR       Y10, Y9, Y9 \
	VPMADDUBSW XO(SI), Y9, Y9 \
	VPSHUFB    q6shuf<>+S(SB), X1, X10 \
	VPMOVSXBW  X10, Y10 \
	VPMADDWD   Y10, Y9, Y9 \
	VPADDD     Y9, Y4, Y4

// K6HALF adds one 128-value half of a Q6_K super-block to Y4: ql at L0(R8)
// (chunks 0 and 2: low and high nibbles) and L1(R8) (chunks 1 and 3), qh at
// H(R8) (bits 2c, 2c+1 for chunk c), activations at XA..XD(SI), scale
// patterns at SA..SD.
#define K6HALF(L0, L1, H, XA, XB, XC, XD, SA, SB_, SC, SD) \
	VMOVDQU L0(R8), Y5 \
	VMOVDQU L1(R8), Y6 \
	VMOVDQU H(R8), Y7 \
	VPAND   Y15, Y5, Y9 \
	VPSLLW  $4, Y7, Y10 \
	K6TAIL(XA, SA) \
	VPAND   Y15, Y6, Y9 \
	VPSLLW  $2, Y7, Y10 \
	K6TAIL(XB, SB_) \
	VPSRLW  $4, Y5, Y9 \
	VPAND   Y15, Y9, Y9 \
	VMOVDQA Y7, Y10 \
	K6TAIL(XC, SC) \
	VPSRLW  $4, Y6, Y9 \
	VPAND   Y15, Y9, Y9 \
	VPSRLW  $2, Y7, Y10 \
	K6TAIL(XD, SD)

// func gemvQ6KQ8KAVX2(w, xq *byte, xd *float32, xb *int16, y *float32, rows, nblocks int)
// y[r] = dot(Q6_K row r of nblocks super-blocks, Q8_K activations xq, xd,
// xb): the unsigned 6-bit values times the activations, widened by the
// int8 scales, less 32·Σ scale·bsum for their bias of 32. One row at a time.
TEXT ·gemvQ6KQ8KAVX2(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), R8
	MOVQ y+32(FP), DI
	MOVQ rows+40(FP), R12
	BCASTD($0x0f0f0f0f, X15, Y15)
	BCASTD($0x30303030, X13, Y13)

k6row:
	TESTQ R12, R12
	JE    k6done
	MOVQ  xq+8(FP), SI
	MOVQ  xd+16(FP), DX
	MOVQ  xb+24(FP), R9
	MOVQ  nblocks+48(FP), CX
	VXORPS Y8, Y8, Y8

k6blk:
	TESTQ CX, CX
	JE    k6red

	// d = dx·d_w in Y14.
	VMOVSS       (DX), X0
	MOVWLZX      208(R8), AX
	VMOVQ        AX, X1
	VCVTPH2PS    X1, X1
	VMULSS       X1, X0, X1
	VBROADCASTSS X1, Y14

	// The bias: Y3 = 32·(bsum_2u·sc_2u + bsum_2u+1·sc_2u+1) per lane u.
	VMOVDQU   192(R8), X1
	VPMOVSXBW X1, Y2
	VPMADDWD  (R9), Y2, Y3
	VPSLLD    $5, Y3, Y3

	VPXOR Y4, Y4, Y4
	K6HALF(0, 32, 128, 0, 32, 64, 96, 0, 16, 32, 48)
	K6HALF(64, 96, 160, 128, 160, 192, 224, 64, 80, 96, 112)
	VPSUBD      Y3, Y4, Y4
	VCVTDQ2PS   Y4, Y4
	VFMADD231PS Y4, Y14, Y8

	ADDQ $210, R8
	ADDQ $256, SI
	ADDQ $4, DX
	ADDQ $32, R9
	DECQ CX
	JMP  k6blk

k6red:
	KHSUM8(Y8, X8, X10, X11)
	VMOVSS X10, (DI)
	ADDQ   $4, DI
	DECQ   R12
	JMP    k6row

k6done:
	VZEROUPPER
	RET

// K6X4TAIL is K6TAIL for four activation rows (at XO(SI), XO(SI)(R10*1),
// XO(SI)(R10*2), XO(SI)(R11*1)) sharing the chunk's values and scales,
// their lane sums in Y24..Y27.
#define K6X4TAIL(XO, S) \
	VPAND      Y13, Y10, Y10 \
	VPOR       Y10, Y9, Y9 \
	VPSHUFB    q6shuf<>+S(SB), X1, X10 \
	VPMOVSXBW  X10, Y10 \
	VPMADDUBSW XO(SI), Y9, Y12 \
	VPMADDWD   Y10, Y12, Y12 \
	VPADDD     Y12, Y24, Y24 \
	VPMADDUBSW XO(SI)(R10*1), Y9, Y12 \
	VPMADDWD   Y10, Y12, Y12 \
	VPADDD     Y12, Y25, Y25 \
	VPMADDUBSW XO(SI)(R10*2), Y9, Y12 \
	VPMADDWD   Y10, Y12, Y12 \
	VPADDD     Y12, Y26, Y26 \
	VPMADDUBSW XO(SI)(R11*1), Y9, Y12 \
	VPMADDWD   Y10, Y12, Y12 \
	VPADDD     Y12, Y27, Y27

// K6X4HALF is K6HALF with K6X4TAIL.
#define K6X4HALF(L0, L1, H, XA, XB, XC, XD, SA, SB_, SC, SD) \
	VMOVDQU L0(R8), Y5 \
	VMOVDQU L1(R8), Y6 \
	VMOVDQU H(R8), Y7 \
	VPAND   Y15, Y5, Y9 \
	VPSLLW  $4, Y7, Y10 \
	K6X4TAIL(XA, SA) \
	VPAND   Y15, Y6, Y9 \
	VPSLLW  $2, Y7, Y10 \
	K6X4TAIL(XB, SB_) \
	VPSRLW  $4, Y5, Y9 \
	VPAND   Y15, Y9, Y9 \
	VMOVDQA Y7, Y10 \
	K6X4TAIL(XC, SC) \
	VPSRLW  $4, Y6, Y9 \
	VPAND   Y15, Y9, Y9 \
	VPSRLW  $2, Y7, Y10 \
	K6X4TAIL(XD, SD)

// K6X4BIAS sets BIAS = 32·(bsum·scale summed in pairs) of the activation
// row whose 16-value sums are at ADDR, against the scales widened in Y2,
// as gemvQ6KQ8KAVX2's bias.
#define K6X4BIAS(ADDR, BIAS) \
	VPMADDWD ADDR, Y2, Y12 \
	VPSLLD   $5, Y12, BIAS

// K6X4END finishes a super-block for one activation row: the bias taken
// from the lane sums, converted, fused with the row's d·dx into its float
// accumulator.
#define K6X4END(ISUM, BIAS, D, ACC) \
	VPSUBD      BIAS, ISUM, ISUM \
	VCVTDQ2PS   ISUM, ISUM \
	VFMADD231PS ISUM, D, ACC

// func gemmQ6KQ8Kx4AVX512(w, xq *byte, xd *float32, xb *int16, y *float32, rows, nblocks, ystride int)
// y[b·ystride + r] = gemvQ6KQ8KAVX2's dot of Q6_K row r with activation
// row b (xq, xd, xb holding four rows of nblocks super-blocks) for r <
// rows, b < 4: one weight row per pass, each 32-value chunk's 6-bit values
// and scales unpacked once for the four rows, the integer sums and the one
// FMA per super-block as the row kernel's, so the results are its bit for
// bit. Needs AVX-512 VL for the accumulators in Y16–Y31.
TEXT ·gemmQ6KQ8Kx4AVX512(SB), NOSPLIT, $8-64
	MOVQ w+0(FP), R8
	MOVQ y+32(FP), DI
	MOVQ rows+40(FP), AX
	MOVQ AX, 0(SP)
	MOVQ nblocks+48(FP), R10
	SHLQ $8, R10 // activation row bytes
	LEAQ (R10)(R10*2), R11
	MOVQ nblocks+48(FP), R12
	SHLQ $2, R12 // activation scale row bytes
	LEAQ (R12)(R12*2), R13
	MOVQ nblocks+48(FP), R14
	SHLQ $5, R14 // activation sums row bytes
	LEAQ (R14)(R14*2), R15
	MOVQ ystride+56(FP), BX
	SHLQ $2, BX
	BCASTD($0x0f0f0f0f, X15, Y15)

k6x4row:
	CMPQ 0(SP), $0
	JE   k6x4done
	BCASTD($0x30303030, X13, Y13) // HSUM8HI clobbers X13
	MOVQ xq+8(FP), SI
	MOVQ xd+16(FP), DX
	MOVQ xb+24(FP), R9
	MOVQ nblocks+48(FP), CX
	VPXORD Y16, Y16, Y16
	VPXORD Y17, Y17, Y17
	VPXORD Y18, Y18, Y18
	VPXORD Y19, Y19, Y19

k6x4blk:
	TESTQ CX, CX
	JE    k6x4red

	// d_w·dx of each activation row in Y20..Y23.
	MOVWLZX      208(R8), AX
	VMOVQ        AX, X1
	VCVTPH2PS    X1, X1
	VBROADCASTSS X1, Y1
	VMULPS.BCST  (DX), Y1, Y20
	VMULPS.BCST  (DX)(R12*1), Y1, Y21
	VMULPS.BCST  (DX)(R12*2), Y1, Y22
	VMULPS.BCST  (DX)(R13*1), Y1, Y23

	// The scales (X1: int8; Y2: widened) and each row's bias in Y28..Y31.
	VMOVDQU   192(R8), X1
	VPMOVSXBW X1, Y2
	K6X4BIAS((R9), Y28)
	K6X4BIAS((R9)(R14*1), Y29)
	K6X4BIAS((R9)(R14*2), Y30)
	K6X4BIAS((R9)(R15*1), Y31)

	VPXORD Y24, Y24, Y24
	VPXORD Y25, Y25, Y25
	VPXORD Y26, Y26, Y26
	VPXORD Y27, Y27, Y27
	K6X4HALF(0, 32, 128, 0, 32, 64, 96, 0, 16, 32, 48)
	K6X4HALF(64, 96, 160, 128, 160, 192, 224, 64, 80, 96, 112)
	K6X4END(Y24, Y28, Y20, Y16)
	K6X4END(Y25, Y29, Y21, Y17)
	K6X4END(Y26, Y30, Y22, Y18)
	K6X4END(Y27, Y31, Y23, Y19)

	ADDQ $210, R8
	ADDQ $256, SI
	ADDQ $4, DX
	ADDQ $32, R9
	DECQ CX
	JMP  k6x4blk

k6x4red:
	HSUM8HI(Y16, X16, (DI))
	HSUM8HI(Y17, X17, (DI)(BX*1))
	LEAQ (DI)(BX*2), AX
	HSUM8HI(Y18, X18, (AX))
	HSUM8HI(Y19, X19, (AX)(BX*1))
	ADDQ $4, DI
	DECQ 0(SP)
	JMP  k6x4row

k6x4done:
	VZEROUPPER
	RET

// K4SUM puts in OUT the int32 lanes of one 64-value step of a Q4_K
// super-block (K4PAIR's products, not accumulated).
#define K4SUM(QO, XL, XH, SL, SH, OUT) \
	VMOVDQU QO(R8), Y5 \
	VPAND Y15, Y5, Y6 \
	VPSRLW $4, Y5, Y5 \
	VPAND Y15, Y5, Y5 \
	VPMADDUBSW XL(SI), Y6, Y6 \
	VPMADDUBSW XH(SI), Y5, Y5 \
	VPSHUFB k4shuf<>+SL(SB), Y3, Y7 \
	VPMADDWD Y7, Y6, Y6 \
	VPSHUFB k4shuf<>+SH(SB), Y3, Y7 \
	VPMADDWD Y7, Y5, Y5 \
	VPADDD Y6, Y5, OUT

// func gemvQ4KQ8KRAVX2(w, xq *byte, xd *float32, xb *int16, y *float32, rows, nblocks, perSub int)
// gemvQ4KQ8KAVX2 in the float order of ggml's repacked Q4_K kernels
// (dotQ4KQ8KRepack): the integer sums of each 64-value step (and their
// minimums' terms) reduced to four int32, then scaled and accumulated in
// scalars, per step (perSub ≠ 0) or summed per super-block first.
TEXT ·gemvQ4KQ8KRAVX2(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), R8
	MOVQ y+32(FP), DI
	MOVQ rows+40(FP), R12
	BCASTD($0x0f0f0f0f, X15, Y15)

k4rrow:
	TESTQ R12, R12
	JE    k4rdone
	MOVQ  xq+8(FP), SI
	MOVQ  xd+16(FP), DX
	MOVQ  xb+24(FP), R9
	MOVQ  nblocks+48(FP), CX
	VXORPS X8, X8, X8
	VXORPS X9, X9, X9

k4rblk:
	TESTQ CX, CX
	JE    k4rred

	// d·dx in X1, dmin·dx in X2.
	VMOVSS    (DX), X0
	MOVWLZX   (R8), AX
	VMOVQ     AX, X1
	VCVTPH2PS X1, X1
	VMULSS    X0, X1, X1
	MOVWLZX   2(R8), AX
	VMOVQ     AX, X2
	VCVTPH2PS X2, X2
	VMULSS    X0, X2, X2

	K4SCALES

	// X14 = the minimums' term of each step: m_2j·s_2j + m_2j+1·s_2j+1.
	VMOVDQU      (R9), Y4
	VEXTRACTI128 $1, Y4, X5
	VPHADDW      X5, X4, X4
	VEXTRACTI128 $1, Y3, X5
	VPMADDWD     X4, X5, X14

	// X10 = the four steps' integer sums.
	VPERMQ $0x44, Y3, Y3
	K4SUM(16, 0, 32, 0, 32, Y10)
	K4SUM(48, 64, 96, 64, 96, Y11)
	K4SUM(80, 128, 160, 128, 160, Y12)
	K4SUM(112, 192, 224, 192, 224, Y13)
	VPHADDD      Y11, Y10, Y10
	VPHADDD      Y13, Y12, Y12
	VPHADDD      Y12, Y10, Y10
	VEXTRACTI128 $1, Y10, X11
	VPADDD       X11, X10, X10

	CMPQ perSub+56(FP), $0
	JNE  k4rsub
	VPSHUFD     $0x4e, X10, X11
	VPADDD      X11, X10, X10
	VPSHUFD     $0xb1, X10, X11
	VPADDD      X11, X10, X10
	VPSHUFD     $0x4e, X14, X11
	VPADDD      X11, X14, X14
	VPSHUFD     $0xb1, X14, X11
	VPADDD      X11, X14, X14
	VCVTDQ2PS   X10, X10
	VCVTDQ2PS   X14, X14
	VFMADD231SS X1, X10, X8
	VFMADD231SS X2, X14, X9
	JMP         k4rnext

k4rsub:
	VCVTDQ2PS   X10, X10
	VCVTDQ2PS   X14, X14
	VFMADD231SS X1, X10, X8
	VFMADD231SS X2, X14, X9
	VMOVSHDUP   X10, X11
	VMOVSHDUP   X14, X12
	VFMADD231SS X1, X11, X8
	VFMADD231SS X2, X12, X9
	VMOVHLPS    X10, X10, X11
	VMOVHLPS    X14, X14, X12
	VFMADD231SS X1, X11, X8
	VFMADD231SS X2, X12, X9
	VPERMILPS   $0xff, X10, X11
	VPERMILPS   $0xff, X14, X12
	VFMADD231SS X1, X11, X8
	VFMADD231SS X2, X12, X9

k4rnext:
	ADDQ $144, R8
	ADDQ $256, SI
	ADDQ $4, DX
	ADDQ $32, R9
	DECQ CX
	JMP  k4rblk

k4rred:
	VSUBSS X9, X8, X8
	VMOVSS X8, (DI)
	ADDQ   $4, DI
	DECQ   R12
	JMP    k4rrow

k4rdone:
	VZEROUPPER
	RET

// K5PAIR is K4PAIR for Q5_K: nibbles at QO(R8), their fifth bits from qh
// (Y14) bits BL (low nibbles) and BH (high), moved to bit 4 and masked by
// Y13 (0x10 bytes).
#define K5PAIR(QO, BL, BH, XL, XH, SL, SH) \
	VMOVDQU QO(R8), Y5 \
	VPAND Y15, Y5, Y6 \
	VPSRLW $4, Y5, Y5 \
	VPAND Y15, Y5, Y5 \
	VPSRLW $BL, Y14, Y7 \
	VPSLLW $4, Y7, Y7 \
	VPAND Y13, Y7, Y7 \
	VPOR Y7, Y6, Y6 \
	VPSRLW $BH, Y14, Y7 \
	VPSLLW $4, Y7, Y7 \
	VPAND Y13, Y7, Y7 \
	VPOR Y7, Y5, Y5 \
	VPMADDUBSW XL(SI), Y6, Y6 \
	VPMADDUBSW XH(SI), Y5, Y5 \
	VPSHUFB k4shuf<>+SL(SB), Y3, Y7 \
	VPMADDWD Y7, Y6, Y6 \
	VPSHUFB k4shuf<>+SH(SB), Y3, Y7 \
	VPMADDWD Y7, Y5, Y5 \
	VPADDD Y6, Y4, Y4 \
	VPADDD Y5, Y4, Y4

// func gemvQ5KQ8KAVX2(w, xq *byte, xd *float32, xb *int16, y *float32, rows, nblocks int)
// y[r] = dot(Q5_K row r of nblocks super-blocks, Q8_K activations), in
// the order of dotQ5KQ8K (ggml_vec_dot_q5_K_q8_K): Q4_K's lanes, the
// minimums' term summed in integers per super-block and accumulated in one
// scalar with a fused multiply-add.
TEXT ·gemvQ5KQ8KAVX2(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), R8
	MOVQ y+32(FP), DI
	MOVQ rows+40(FP), R12
	BCASTD($0x0f0f0f0f, X15, Y15)
	BCASTD($0x10101010, X13, Y13)
	BCASTD($0x80000000, X12, Y12)

k5row:
	TESTQ R12, R12
	JE    k5done
	MOVQ  xq+8(FP), SI
	MOVQ  xd+16(FP), DX
	MOVQ  xb+24(FP), R9
	MOVQ  nblocks+48(FP), CX
	VXORPS Y8, Y8, Y8
	VXORPS X9, X9, X9

k5blk:
	TESTQ CX, CX
	JE    k5red

	// d = dx·d_w in Y1, dmin = -(dx·dmin_w) in X2.
	VMOVSS       (DX), X0
	MOVWLZX      (R8), AX
	VMOVQ        AX, X1
	VCVTPH2PS    X1, X1
	VMULSS       X1, X0, X1
	VBROADCASTSS X1, Y1
	MOVWLZX      2(R8), AX
	VMOVQ        AX, X2
	VCVTPH2PS    X2, X2
	VMULSS       X2, X0, X2
	VXORPS       X12, X2, X2

	K4SCALES

	// summs += dmin·Σ_g m_g·s_g (the integer sum first).
	VMOVDQU      (R9), Y4
	VEXTRACTI128 $1, Y4, X5
	VPHADDW      X5, X4, X4
	VEXTRACTI128 $1, Y3, X5
	VPMADDWD     X4, X5, X5
	VPSHUFD      $0x4e, X5, X6
	VPADDD       X6, X5, X5
	VPSHUFD      $0xb1, X5, X6
	VPADDD       X6, X5, X5
	VCVTDQ2PS    X5, X5
	VFMADD231SS  X5, X2, X9

	VMOVDQU 16(R8), Y14
	VPERMQ  $0x44, Y3, Y3
	VPXOR   Y4, Y4, Y4
	K5PAIR(48, 0, 1, 0, 32, 0, 32)
	K5PAIR(80, 2, 3, 64, 96, 64, 96)
	K5PAIR(112, 4, 5, 128, 160, 128, 160)
	K5PAIR(144, 6, 7, 192, 224, 192, 224)
	VCVTDQ2PS   Y4, Y4
	VFMADD231PS Y4, Y1, Y8

	ADDQ $176, R8
	ADDQ $256, SI
	ADDQ $4, DX
	ADDQ $32, R9
	DECQ CX
	JMP  k5blk

k5red:
	KHSUM8(Y8, X8, X10, X11)
	VADDSS X9, X10, X10
	VMOVSS X10, (DI)
	ADDQ   $4, DI
	DECQ   R12
	JMP    k5row

k5done:
	VZEROUPPER
	RET

// q3kshuf holds four VPSHUFB patterns of 32 bytes: pattern c copies int16
// word 2c of the low 128-bit lane and word 2c+1 of the high one to all of
// its lane's words (the scales of a 32-value chunk's two 16-value groups
// for the Q2_K and Q3_K kernels, as ggml's get_scale_shuffle_q3k).
DATA q3kshuf<>+0(SB)/8, $0x0100010001000100
DATA q3kshuf<>+8(SB)/8, $0x0100010001000100
DATA q3kshuf<>+16(SB)/8, $0x0302030203020302
DATA q3kshuf<>+24(SB)/8, $0x0302030203020302
DATA q3kshuf<>+32(SB)/8, $0x0504050405040504
DATA q3kshuf<>+40(SB)/8, $0x0504050405040504
DATA q3kshuf<>+48(SB)/8, $0x0706070607060706
DATA q3kshuf<>+56(SB)/8, $0x0706070607060706
DATA q3kshuf<>+64(SB)/8, $0x0908090809080908
DATA q3kshuf<>+72(SB)/8, $0x0908090809080908
DATA q3kshuf<>+80(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA q3kshuf<>+88(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA q3kshuf<>+96(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA q3kshuf<>+104(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA q3kshuf<>+112(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA q3kshuf<>+120(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL q3kshuf<>(SB), RODATA|NOPTR, $128

// K2CHUNK adds to Y4 one 32-value chunk of a Q2_K half: 2-bit values
// (Y7 >> SHIFT, masked by Y14), activations at XO(SI), widened by the
// half's scales SC through the q3kshuf pattern at S.
#define K2CHUNK(SHIFT, XO, S, SC) \
	VPSRLW     $SHIFT, Y7, Y9 \
	VPAND      Y14, Y9, Y9 \
	VPMADDUBSW XO(SI), Y9, Y9 \
	VPSHUFB    q3kshuf<>+S(SB), SC, Y10 \
	VPMADDWD   Y10, Y9, Y9 \
	VPADDD     Y9, Y4, Y4

// func gemvQ2KQ8KAVX2(w, xq *byte, xd *float32, xb *int16, y *float32, rows, nblocks int)
// y[r] = dot(Q2_K row r of nblocks super-blocks, Q8_K activations), in
// the order of dotQ2KQ8K (ggml_vec_dot_q2_K_q8_K).
TEXT ·gemvQ2KQ8KAVX2(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), R8
	MOVQ y+32(FP), DI
	MOVQ rows+40(FP), R12
	BCASTD($0x0f0f0f0f, X15, Y15)
	BCASTD($0x03030303, X14, Y14)
	BCASTD($0x80000000, X13, Y13)

k2row:
	TESTQ R12, R12
	JE    k2done
	MOVQ  xq+8(FP), SI
	MOVQ  xd+16(FP), DX
	MOVQ  xb+24(FP), R9
	MOVQ  nblocks+48(FP), CX
	VXORPS Y8, Y8, Y8

k2blk:
	TESTQ CX, CX
	JE    k2red

	// d = dx·d_w in Y1, dmin = -(dx·dmin_w) in Y2.
	VMOVSS       (DX), X0
	MOVWLZX      80(R8), AX
	VMOVQ        AX, X1
	VCVTPH2PS    X1, X1
	VMULSS       X1, X0, X1
	VBROADCASTSS X1, Y1
	MOVWLZX      82(R8), AX
	VMOVQ        AX, X2
	VCVTPH2PS    X2, X2
	VMULSS       X2, X0, X2
	VXORPS       X13, X2, X2
	VBROADCASTSS X2, Y2

	// Minimums first: acc += dmin·(m_2u·bsum_2u + m_2u+1·bsum_2u+1).
	VMOVDQU     (R8), X3
	VPSRLW      $4, X3, X4
	VPAND       X15, X4, X4
	VPMOVSXBW   X4, Y4
	VPMADDWD    (R9), Y4, Y4
	VCVTDQ2PS   Y4, Y4
	VFMADD231PS Y4, Y2, Y8

	// Scales of each half in both lanes: Y5 (groups 0..7), Y6 (8..15).
	VPAND     X15, X3, X3
	VPMOVSXBW X3, Y3
	VPERMQ    $0x44, Y3, Y5
	VPERMQ    $0xee, Y3, Y6

	VPXOR   Y4, Y4, Y4
	VMOVDQU 16(R8), Y7
	K2CHUNK(0, 0, 0, Y5)
	K2CHUNK(2, 32, 32, Y5)
	K2CHUNK(4, 64, 64, Y5)
	K2CHUNK(6, 96, 96, Y5)
	VMOVDQU 48(R8), Y7
	K2CHUNK(0, 128, 0, Y6)
	K2CHUNK(2, 160, 32, Y6)
	K2CHUNK(4, 192, 64, Y6)
	K2CHUNK(6, 224, 96, Y6)
	VCVTDQ2PS   Y4, Y4
	VFMADD231PS Y4, Y1, Y8

	ADDQ $84, R8
	ADDQ $256, SI
	ADDQ $4, DX
	ADDQ $32, R9
	DECQ CX
	JMP  k2blk

k2red:
	KHSUM8(Y8, X8, X10, X11)
	VMOVSS X10, (DI)
	ADDQ   $4, DI
	DECQ   R12
	JMP    k2row

k2done:
	VZEROUPPER
	RET

// K3CHUNK adds to Y4 one 32-value chunk of a Q3_K half: low 2 bits
// (Y7 >> SHIFT, masked by Y15) less 4 where hmask (Y12) bit BIT is clear,
// as two VPMADDUBSW products subtracted; activations at XO(SI), scales SC
// through the q3kshuf pattern at S.
#define K3CHUNK(SHIFT, BIT, XO, S, SC) \
	VPSRLW     $SHIFT, Y7, Y9 \
	VPAND      Y15, Y9, Y9 \
	VPSRLW     $BIT, Y12, Y10 \
	VPANDN     Y11, Y10, Y10 \
	VPSLLW     $2, Y10, Y10 \
	VPMADDUBSW XO(SI), Y9, Y9 \
	VPMADDUBSW XO(SI), Y10, Y10 \
	VPSUBW     Y10, Y9, Y9 \
	VPSHUFB    q3kshuf<>+S(SB), SC, Y10 \
	VPMADDWD   Y10, Y9, Y9 \
	VPADDD     Y9, Y4, Y4

// func gemvQ3KQ8KAVX2(w, xq *byte, xd *float32, xb *int16, y *float32, rows, nblocks int)
// y[r] = dot(Q3_K row r of nblocks super-blocks, Q8_K activations), in
// the order of dotQ3KQ8K (ggml_vec_dot_q3_K_q8_K).
TEXT ·gemvQ3KQ8KAVX2(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), R8
	MOVQ y+32(FP), DI
	MOVQ rows+40(FP), R12
	BCASTD($0x03030303, X15, Y15)
	BCASTD($0x01010101, X11, Y11)
	BCASTD($0x20202020, X13, Y13)

k3row:
	TESTQ R12, R12
	JE    k3done
	MOVQ  xq+8(FP), SI
	MOVQ  xd+16(FP), DX
	MOVQ  nblocks+48(FP), CX
	VXORPS Y8, Y8, Y8

k3blk:
	TESTQ CX, CX
	JE    k3red

	// d = dx·d_w in Y1.
	VMOVSS       (DX), X0
	MOVWLZX      108(R8), AX
	VMOVQ        AX, X1
	VCVTPH2PS    X1, X1
	VMULSS       X1, X0, X1
	VBROADCASTSS X1, Y1

	// The sixteen 6-bit scales, less 32, per half in both lanes (Y5, Y6).
	MOVL 96(R8), AX
	MOVL 100(R8), BX
	MOVL 104(R8), R10
	MOVL AX, R11
	ANDL $0x0f0f0f0f, R11
	MOVL R10, R13
	ANDL $0x03030303, R13
	SHLL $4, R13
	ORL  R13, R11          // s0 = a0&k2 | (a2&k1)<<4
	MOVL BX, R13
	ANDL $0x0f0f0f0f, R13
	MOVL R10, R9
	SHRL $2, R9
	ANDL $0x03030303, R9
	SHLL $4, R9
	ORL  R9, R13           // s1 = a1&k2 | ((a2>>2)&k1)<<4
	SHLQ $32, R13
	ORQ  R13, R11
	SHRL $4, AX
	ANDL $0x0f0f0f0f, AX
	MOVL R10, R13
	SHRL $4, R13
	ANDL $0x03030303, R13
	SHLL $4, R13
	ORL  R13, AX           // s2 = (a0>>4)&k2 | ((a2>>4)&k1)<<4
	SHRL $4, BX
	ANDL $0x0f0f0f0f, BX
	SHRL $6, R10
	ANDL $0x03030303, R10
	SHLL $4, R10
	ORL  R10, BX           // s3 = (a1>>4)&k2 | ((a2>>6)&k1)<<4
	SHLQ $32, BX
	ORQ  BX, AX
	VMOVQ     R11, X3
	VPINSRQ   $1, AX, X3, X3
	VPSUBB    X13, X3, X3
	VPMOVSXBW X3, Y3
	VPERMQ    $0x44, Y3, Y5
	VPERMQ    $0xee, Y3, Y6

	VMOVDQU (R8), Y12
	VPXOR   Y4, Y4, Y4
	VMOVDQU 32(R8), Y7
	K3CHUNK(0, 0, 0, 0, Y5)
	K3CHUNK(2, 1, 32, 32, Y5)
	K3CHUNK(4, 2, 64, 64, Y5)
	K3CHUNK(6, 3, 96, 96, Y5)
	VMOVDQU 64(R8), Y7
	K3CHUNK(0, 4, 128, 0, Y6)
	K3CHUNK(2, 5, 160, 32, Y6)
	K3CHUNK(4, 6, 192, 64, Y6)
	K3CHUNK(6, 7, 224, 96, Y6)
	VCVTDQ2PS   Y4, Y4
	VFMADD231PS Y4, Y1, Y8

	ADDQ $110, R8
	ADDQ $256, SI
	ADDQ $4, DX
	DECQ CX
	JMP  k3blk

k3red:
	KHSUM8(Y8, X8, X10, X2)
	VMOVSS X10, (DI)
	ADDQ   $4, DI
	DECQ   R12
	JMP    k3row

k3done:
	VZEROUPPER
	RET
