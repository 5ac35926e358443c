#include "textflag.h"

// ggml_v_expf's constants, each in all eight lanes (exact.go names them).
DATA expShift<>+0(SB)/4, $0x4b400000
DATA expShift<>+4(SB)/4, $0x4b400000
DATA expShift<>+8(SB)/4, $0x4b400000
DATA expShift<>+12(SB)/4, $0x4b400000
DATA expShift<>+16(SB)/4, $0x4b400000
DATA expShift<>+20(SB)/4, $0x4b400000
DATA expShift<>+24(SB)/4, $0x4b400000
DATA expShift<>+28(SB)/4, $0x4b400000
GLOBL expShift<>(SB), RODATA|NOPTR, $32
DATA expLog2e<>+0(SB)/4, $0x3fb8aa3b
DATA expLog2e<>+4(SB)/4, $0x3fb8aa3b
DATA expLog2e<>+8(SB)/4, $0x3fb8aa3b
DATA expLog2e<>+12(SB)/4, $0x3fb8aa3b
DATA expLog2e<>+16(SB)/4, $0x3fb8aa3b
DATA expLog2e<>+20(SB)/4, $0x3fb8aa3b
DATA expLog2e<>+24(SB)/4, $0x3fb8aa3b
DATA expLog2e<>+28(SB)/4, $0x3fb8aa3b
GLOBL expLog2e<>(SB), RODATA|NOPTR, $32
DATA expLn2Hi<>+0(SB)/4, $0x3f317200
DATA expLn2Hi<>+4(SB)/4, $0x3f317200
DATA expLn2Hi<>+8(SB)/4, $0x3f317200
DATA expLn2Hi<>+12(SB)/4, $0x3f317200
DATA expLn2Hi<>+16(SB)/4, $0x3f317200
DATA expLn2Hi<>+20(SB)/4, $0x3f317200
DATA expLn2Hi<>+24(SB)/4, $0x3f317200
DATA expLn2Hi<>+28(SB)/4, $0x3f317200
GLOBL expLn2Hi<>(SB), RODATA|NOPTR, $32
DATA expLn2Lo<>+0(SB)/4, $0x35bfbe8e
DATA expLn2Lo<>+4(SB)/4, $0x35bfbe8e
DATA expLn2Lo<>+8(SB)/4, $0x35bfbe8e
DATA expLn2Lo<>+12(SB)/4, $0x35bfbe8e
DATA expLn2Lo<>+16(SB)/4, $0x35bfbe8e
DATA expLn2Lo<>+20(SB)/4, $0x35bfbe8e
DATA expLn2Lo<>+24(SB)/4, $0x35bfbe8e
DATA expLn2Lo<>+28(SB)/4, $0x35bfbe8e
GLOBL expLn2Lo<>(SB), RODATA|NOPTR, $32
DATA expC0<>+0(SB)/4, $0x3c072010
DATA expC0<>+4(SB)/4, $0x3c072010
DATA expC0<>+8(SB)/4, $0x3c072010
DATA expC0<>+12(SB)/4, $0x3c072010
DATA expC0<>+16(SB)/4, $0x3c072010
DATA expC0<>+20(SB)/4, $0x3c072010
DATA expC0<>+24(SB)/4, $0x3c072010
DATA expC0<>+28(SB)/4, $0x3c072010
GLOBL expC0<>(SB), RODATA|NOPTR, $32
DATA expC1<>+0(SB)/4, $0x3d2b9f17
DATA expC1<>+4(SB)/4, $0x3d2b9f17
DATA expC1<>+8(SB)/4, $0x3d2b9f17
DATA expC1<>+12(SB)/4, $0x3d2b9f17
DATA expC1<>+16(SB)/4, $0x3d2b9f17
DATA expC1<>+20(SB)/4, $0x3d2b9f17
DATA expC1<>+24(SB)/4, $0x3d2b9f17
DATA expC1<>+28(SB)/4, $0x3d2b9f17
GLOBL expC1<>(SB), RODATA|NOPTR, $32
DATA expC2<>+0(SB)/4, $0x3e2aaf33
DATA expC2<>+4(SB)/4, $0x3e2aaf33
DATA expC2<>+8(SB)/4, $0x3e2aaf33
DATA expC2<>+12(SB)/4, $0x3e2aaf33
DATA expC2<>+16(SB)/4, $0x3e2aaf33
DATA expC2<>+20(SB)/4, $0x3e2aaf33
DATA expC2<>+24(SB)/4, $0x3e2aaf33
DATA expC2<>+28(SB)/4, $0x3e2aaf33
GLOBL expC2<>(SB), RODATA|NOPTR, $32
DATA expC3<>+0(SB)/4, $0x3efffedb
DATA expC3<>+4(SB)/4, $0x3efffedb
DATA expC3<>+8(SB)/4, $0x3efffedb
DATA expC3<>+12(SB)/4, $0x3efffedb
DATA expC3<>+16(SB)/4, $0x3efffedb
DATA expC3<>+20(SB)/4, $0x3efffedb
DATA expC3<>+24(SB)/4, $0x3efffedb
DATA expC3<>+28(SB)/4, $0x3efffedb
GLOBL expC3<>(SB), RODATA|NOPTR, $32
DATA expC4<>+0(SB)/4, $0x3f7ffff6
DATA expC4<>+4(SB)/4, $0x3f7ffff6
DATA expC4<>+8(SB)/4, $0x3f7ffff6
DATA expC4<>+12(SB)/4, $0x3f7ffff6
DATA expC4<>+16(SB)/4, $0x3f7ffff6
DATA expC4<>+20(SB)/4, $0x3f7ffff6
DATA expC4<>+24(SB)/4, $0x3f7ffff6
DATA expC4<>+28(SB)/4, $0x3f7ffff6
GLOBL expC4<>(SB), RODATA|NOPTR, $32
DATA expOne<>+0(SB)/4, $0x3f800000
DATA expOne<>+4(SB)/4, $0x3f800000
DATA expOne<>+8(SB)/4, $0x3f800000
DATA expOne<>+12(SB)/4, $0x3f800000
DATA expOne<>+16(SB)/4, $0x3f800000
DATA expOne<>+20(SB)/4, $0x3f800000
DATA expOne<>+24(SB)/4, $0x3f800000
DATA expOne<>+28(SB)/4, $0x3f800000
GLOBL expOne<>(SB), RODATA|NOPTR, $32
DATA expAbs<>+0(SB)/4, $0x7fffffff
DATA expAbs<>+4(SB)/4, $0x7fffffff
DATA expAbs<>+8(SB)/4, $0x7fffffff
DATA expAbs<>+12(SB)/4, $0x7fffffff
DATA expAbs<>+16(SB)/4, $0x7fffffff
DATA expAbs<>+20(SB)/4, $0x7fffffff
DATA expAbs<>+24(SB)/4, $0x7fffffff
DATA expAbs<>+28(SB)/4, $0x7fffffff
GLOBL expAbs<>(SB), RODATA|NOPTR, $32
DATA exp126<>+0(SB)/4, $0x42fc0000
DATA exp126<>+4(SB)/4, $0x42fc0000
DATA exp126<>+8(SB)/4, $0x42fc0000
DATA exp126<>+12(SB)/4, $0x42fc0000
DATA exp126<>+16(SB)/4, $0x42fc0000
DATA exp126<>+20(SB)/4, $0x42fc0000
DATA exp126<>+24(SB)/4, $0x42fc0000
DATA exp126<>+28(SB)/4, $0x42fc0000
GLOBL exp126<>(SB), RODATA|NOPTR, $32
DATA exp192<>+0(SB)/4, $0x43400000
DATA exp192<>+4(SB)/4, $0x43400000
DATA exp192<>+8(SB)/4, $0x43400000
DATA exp192<>+12(SB)/4, $0x43400000
DATA exp192<>+16(SB)/4, $0x43400000
DATA exp192<>+20(SB)/4, $0x43400000
DATA exp192<>+24(SB)/4, $0x43400000
DATA exp192<>+28(SB)/4, $0x43400000
GLOBL exp192<>(SB), RODATA|NOPTR, $32
DATA expG<>+0(SB)/4, $0x82000000
DATA expG<>+4(SB)/4, $0x82000000
DATA expG<>+8(SB)/4, $0x82000000
DATA expG<>+12(SB)/4, $0x82000000
DATA expG<>+16(SB)/4, $0x82000000
DATA expG<>+20(SB)/4, $0x82000000
DATA expG<>+24(SB)/4, $0x82000000
DATA expG<>+28(SB)/4, $0x82000000
GLOBL expG<>(SB), RODATA|NOPTR, $32
DATA exp7F<>+0(SB)/4, $0x7f000000
DATA exp7F<>+4(SB)/4, $0x7f000000
DATA exp7F<>+8(SB)/4, $0x7f000000
DATA exp7F<>+12(SB)/4, $0x7f000000
DATA exp7F<>+16(SB)/4, $0x7f000000
DATA exp7F<>+20(SB)/4, $0x7f000000
DATA exp7F<>+24(SB)/4, $0x7f000000
DATA exp7F<>+28(SB)/4, $0x7f000000
GLOBL exp7F<>(SB), RODATA|NOPTR, $32
DATA one64<>+0(SB)/8, $0x3ff0000000000000
GLOBL one64<>(SB), RODATA|NOPTR, $8

// EXPF8 sets Y0 to e^Y0 in every lane exactly as ggml's AVX2 ggml_v_expf
// computes it (FMAs where it has them; its |n| > 126 and |n| > 192 cases
// selected by blends instead of its branch, which gives the same lanes).
// Clobbers Y1–Y12.
#define EXPF8 \
	VMOVUPS expShift<>(SB), Y1 \
	VFMADD231PS expLog2e<>(SB), Y0, Y1 \
	VSUBPS expShift<>(SB), Y1, Y2 \
	VMOVAPS Y0, Y3 \
	VFNMADD231PS expLn2Hi<>(SB), Y2, Y3 \
	VFNMADD231PS expLn2Lo<>(SB), Y2, Y3 \
	VPSLLD $23, Y1, Y1 \
	VPADDD expOne<>(SB), Y1, Y4 \
	VMULPS Y3, Y3, Y5 \
	VMOVUPS expC0<>(SB), Y0 \
	VFMADD213PS expC1<>(SB), Y3, Y0 \
	VMOVUPS expC2<>(SB), Y6 \
	VFMADD213PS expC3<>(SB), Y3, Y6 \
	VFMADD213PS Y6, Y5, Y0 \
	VMULPS expC4<>(SB), Y3, Y7 \
	VFMADD213PS Y7, Y5, Y0 \
	VANDPS expAbs<>(SB), Y2, Y6 \
	VCMPPS $0x1e, exp126<>(SB), Y6, Y7 \
	VCMPPS $0x1e, exp192<>(SB), Y6, Y12 \
	VXORPS Y8, Y8, Y8 \
	VCMPPS $0x12, Y8, Y2, Y9 \
	VANDPS expG<>(SB), Y9, Y9 \
	VPADDD exp7F<>(SB), Y9, Y10 \
	VPSUBD Y9, Y1, Y11 \
	VMULPS Y10, Y10, Y8 \
	VMOVAPS Y11, Y9 \
	VFMADD213PS Y11, Y0, Y9 \
	VMULPS Y10, Y9, Y9 \
	VFMADD213PS Y4, Y4, Y0 \
	VBLENDVPS Y7, Y9, Y0, Y0 \
	VBLENDVPS Y12, Y8, Y0, Y0

// func softmaxAVX2(x *float32, n int)
// ggml_compute_forward_soft_max_f32's row: n a positive multiple of 8.
// The exponentials of each 8 summed in float as its hsum does (high half
// plus low, lanes 0+2 and 1+3, then those two), the sums added in float64,
// the row scaled by float32(1/sum).
TEXT ·softmaxAVX2(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), DX
	SHLQ $2, DX
	VMOVUPS (SI), Y15
	MOVQ $32, AX

smmax:
	CMPQ AX, DX
	JGE  smmaxh
	VMAXPS (SI)(AX*1), Y15, Y15
	ADDQ $32, AX
	JMP  smmax

smmaxh:
	VEXTRACTF128 $1, Y15, X0
	VMAXPS X0, X15, X15
	VPERMILPS $0x4e, X15, X0
	VMAXPS X0, X15, X15
	VPERMILPS $0xb1, X15, X0
	VMAXPS X0, X15, X15
	VBROADCASTSS X15, Y15
	VXORPD X13, X13, X13
	XORQ AX, AX

smexp:
	CMPQ AX, DX
	JGE  smscale
	VMOVUPS (SI)(AX*1), Y0
	VSUBPS Y15, Y0, Y0
	EXPF8
	VMOVUPS Y0, (SI)(AX*1)
	VEXTRACTF128 $1, Y0, X1
	VADDPS X0, X1, X1
	VMOVHLPS X1, X1, X2
	VADDPS X2, X1, X1
	VMOVSHDUP X1, X2
	VADDSS X2, X1, X1
	VCVTSS2SD X1, X1, X1
	VADDSD X1, X13, X13
	ADDQ $32, AX
	JMP  smexp

smscale:
	VMOVSD one64<>(SB), X0
	VDIVSD X13, X0, X0
	VCVTSD2SS X0, X0, X0
	VBROADCASTSS X0, Y0
	XORQ AX, AX

smmul:
	CMPQ AX, DX
	JGE  smdone
	VMULPS (SI)(AX*1), Y0, Y1
	VMOVUPS Y1, (SI)(AX*1)
	ADDQ $32, AX
	JMP  smmul

smdone:
	VZEROUPPER
	RET

// func swigluAVX2(gate, up *float32, n int)
// gate[i] = gate[i]/(1 + e^(0−gate[i]))·up[i] for i < n, n a multiple of 8, as
// ggml_vec_swiglu_f32's AVX2 loop (ggml_v_silu) computes it.
TEXT ·swigluAVX2(SB), NOSPLIT, $0-24
	MOVQ gate+0(FP), SI
	MOVQ up+8(FP), DI
	MOVQ n+16(FP), CX

swl:
	CMPQ CX, $8
	JL   swdone
	VMOVUPS (SI), Y13
	VXORPS Y0, Y0, Y0
	VSUBPS Y13, Y0, Y0
	EXPF8
	VADDPS expOne<>(SB), Y0, Y0
	VDIVPS Y0, Y13, Y13
	VMULPS (DI), Y13, Y13
	VMOVUPS Y13, (SI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  swl

swdone:
	VZEROUPPER
	RET

// GSADD adds the product at OFF(SI/R8)(AX) to X0, rounded first.
#define GSADD(OFF) \
	VMOVSS OFF(SI)(AX*1), X1 \
	VMULSS OFF(R8)(AX*1), X1, X1 \
	VADDSS X1, X0, X0

// func attnScoresGGMLAVX2(q, k *float32, stride, n, hd int, scale float32, out *float32)
// out[p] = scale·dot(q, k[p·stride : p·stride+hd]) for p < n, each dot in
// ggml_vec_dot_f32's order: products of the first hd−hd%32 elements fused
// into lane i%32 of four 8-lane accumulators, reduced as GGML_F32x8_REDUCE
// does ((a0+a2)+(a1+a3), high half plus low, two horizontal adds), the
// rest added as dotGGML does.
TEXT ·attnScoresGGMLAVX2(SB), NOSPLIT, $0-56
	MOVQ q+0(FP), SI
	MOVQ k+8(FP), R8
	MOVQ stride+16(FP), R9
	SHLQ $2, R9
	MOVQ n+24(FP), CX
	MOVQ hd+32(FP), R12
	SHLQ $2, R12
	MOVQ R12, R11
	ANDQ $-128, R11
	VMOVSS scale+40(FP), X15
	MOVQ out+48(FP), DI

gsp:
	TESTQ CX, CX
	JE    gsdone
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y4, Y4, Y4
	XORQ AX, AX

gs32:
	CMPQ AX, R11
	JGE  gsred
	VMOVUPS (SI)(AX*1), Y5
	VFMADD231PS (R8)(AX*1), Y5, Y0
	VMOVUPS 32(SI)(AX*1), Y6
	VFMADD231PS 32(R8)(AX*1), Y6, Y1
	VMOVUPS 64(SI)(AX*1), Y7
	VFMADD231PS 64(R8)(AX*1), Y7, Y2
	VMOVUPS 96(SI)(AX*1), Y8
	VFMADD231PS 96(R8)(AX*1), Y8, Y4
	ADDQ $128, AX
	JMP  gs32

gsred:
	VADDPS Y2, Y0, Y0
	VADDPS Y4, Y1, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0

gst8:
	MOVQ R12, DX
	SUBQ AX, DX
	CMPQ DX, $32
	JL   gst4
	GSADD(0)
	GSADD(4)
	GSADD(8)
	GSADD(12)
	GSADD(16)
	GSADD(20)
	GSADD(24)
	GSADD(28)
	ADDQ $32, AX
	JMP  gst8

gst4:
	CMPQ DX, $16
	JL   gstail
	GSADD(0)
	GSADD(4)
	GSADD(8)
	GSADD(12)
	ADDQ $16, AX

gstail:
	CMPQ AX, R12
	JGE  gsst
	VMOVSS (SI)(AX*1), X1
	VFMADD231SS (R8)(AX*1), X1, X0
	ADDQ $4, AX
	JMP  gstail

gsst:
	VMULSS X15, X0, X0
	VMOVSS X0, (DI)
	ADDQ $4, DI
	ADDQ R9, R8
	DECQ CX
	JMP  gsp

gsdone:
	VZEROUPPER
	RET

// VACC fuses position R12+OFF/4 (a[R12+OFF/4] broadcast) times the 8 values at
// (R11) into ACC and steps R11 to the next position's row.
#define VACC(OFF, ACC) \
	VBROADCASTSS OFF(SI)(R12*4), Y8 \
	VFMADD231PS (R11), Y8, ACC \
	ADDQ R9, R11

// func attnValuesLanesAVX2(a, v *float32, stride, n, hd, lanes int, out, buf *float32)
// out[j] = Σ_p a[p]·v[p·stride+j] for j < hd (a multiple of 8), p < n,
// with position p fused into lane p%lanes of its own chain (lanes 8:
// tinyBLAS's f32 gemm, reduced by its hsum; lanes 32: ggml_vec_dot_f32,
// reduced by GGML_F32x8_REDUCE), eight outputs at a time. Each pass k
// keeps the chains of positions ≡ 8k…8k+7 (mod lanes) in Y0–Y7 and stores
// them to buf (32 vectors of 8 floats) for the reduction.
TEXT ·attnValuesLanesAVX2(SB), NOSPLIT, $0-64
	MOVQ a+0(FP), SI
	MOVQ v+8(FP), R8
	MOVQ stride+16(FP), R9
	SHLQ $2, R9
	MOVQ n+24(FP), CX
	MOVQ hd+32(FP), R10
	MOVQ lanes+40(FP), DX
	MOVQ out+48(FP), DI
	MOVQ buf+56(FP), BX
	MOVQ DX, R13
	SUBQ $8, R13
	IMULQ R9, R13

vjg:
	TESTQ R10, R10
	JE    vdone
	XORQ R14, R14

vpass:
	CMPQ R14, DX
	JGE  vcomb
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ R14, R12
	MOVQ R14, R11
	IMULQ R9, R11
	ADDQ R8, R11

vfull:
	MOVQ CX, AX
	SUBQ R12, AX
	CMPQ AX, $8
	JL   vtail
	VACC(0, Y0)
	VACC(4, Y1)
	VACC(8, Y2)
	VACC(12, Y3)
	VACC(16, Y4)
	VACC(20, Y5)
	VACC(24, Y6)
	VACC(28, Y7)
	ADDQ R13, R11
	ADDQ DX, R12
	JMP  vfull

vtail:
	CMPQ AX, $1
	JL   vstore
	VACC(0, Y0)
	CMPQ AX, $2
	JL   vstore
	VACC(4, Y1)
	CMPQ AX, $3
	JL   vstore
	VACC(8, Y2)
	CMPQ AX, $4
	JL   vstore
	VACC(12, Y3)
	CMPQ AX, $5
	JL   vstore
	VACC(16, Y4)
	CMPQ AX, $6
	JL   vstore
	VACC(20, Y5)
	CMPQ AX, $7
	JL   vstore
	VACC(24, Y6)

vstore:
	MOVQ R14, AX
	SHLQ $5, AX
	ADDQ BX, AX
	VMOVUPS Y0, (AX)
	VMOVUPS Y1, 32(AX)
	VMOVUPS Y2, 64(AX)
	VMOVUPS Y3, 96(AX)
	VMOVUPS Y4, 128(AX)
	VMOVUPS Y5, 160(AX)
	VMOVUPS Y6, 192(AX)
	VMOVUPS Y7, 224(AX)
	ADDQ $8, R14
	JMP  vpass

vcomb:
	CMPQ DX, $8
	JNE  vc32
	VMOVUPS (BX), Y0
	VADDPS 128(BX), Y0, Y0
	VMOVUPS 32(BX), Y1
	VADDPS 160(BX), Y1, Y1
	VMOVUPS 64(BX), Y2
	VADDPS 192(BX), Y2, Y2
	VMOVUPS 96(BX), Y3
	VADDPS 224(BX), Y3, Y3
	VADDPS Y2, Y0, Y0
	VADDPS Y3, Y1, Y1
	VADDPS Y1, Y0, Y0
	JMP  vout

vc32:
	VMOVUPS (BX), Y0
	VADDPS 512(BX), Y0, Y0
	VMOVUPS 256(BX), Y8
	VADDPS 768(BX), Y8, Y8
	VADDPS Y8, Y0, Y0
	VMOVUPS 32(BX), Y1
	VADDPS 544(BX), Y1, Y1
	VMOVUPS 288(BX), Y8
	VADDPS 800(BX), Y8, Y8
	VADDPS Y8, Y1, Y1
	VMOVUPS 64(BX), Y2
	VADDPS 576(BX), Y2, Y2
	VMOVUPS 320(BX), Y8
	VADDPS 832(BX), Y8, Y8
	VADDPS Y8, Y2, Y2
	VMOVUPS 96(BX), Y3
	VADDPS 608(BX), Y3, Y3
	VMOVUPS 352(BX), Y8
	VADDPS 864(BX), Y8, Y8
	VADDPS Y8, Y3, Y3
	VMOVUPS 128(BX), Y4
	VADDPS 640(BX), Y4, Y4
	VMOVUPS 384(BX), Y8
	VADDPS 896(BX), Y8, Y8
	VADDPS Y8, Y4, Y4
	VMOVUPS 160(BX), Y5
	VADDPS 672(BX), Y5, Y5
	VMOVUPS 416(BX), Y8
	VADDPS 928(BX), Y8, Y8
	VADDPS Y8, Y5, Y5
	VMOVUPS 192(BX), Y6
	VADDPS 704(BX), Y6, Y6
	VMOVUPS 448(BX), Y8
	VADDPS 960(BX), Y8, Y8
	VADDPS Y8, Y6, Y6
	VMOVUPS 224(BX), Y7
	VADDPS 736(BX), Y7, Y7
	VMOVUPS 480(BX), Y8
	VADDPS 992(BX), Y8, Y8
	VADDPS Y8, Y7, Y7
	VADDPS Y4, Y0, Y0
	VADDPS Y5, Y1, Y1
	VADDPS Y6, Y2, Y2
	VADDPS Y7, Y3, Y3
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0

vout:
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, R8
	SUBQ $8, R10
	JMP  vjg

vdone:
	VZEROUPPER
	RET
