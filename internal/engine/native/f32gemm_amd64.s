#include "textflag.h"
#include "vec_amd64.h"

// F32 weight rows times two activation rows at once, for weight blocks
// already in cache (prefill, batches), with the 32 vector registers of
// AVX-512 (VL): sixteen accumulators, two per (weight row, activation row)
// as gemvAVX2 keeps them, and the same reduction, so each output equals
// gemvAVX2's for that activation row bit for bit; each weight load now
// serves two activation rows (gemvAVX2, per activation row, loads five
// vectors per four FMAs and is bound by the loads).

// F32GROW multiplies weight vector W (row r, half h) into the two
// activation rows' accumulators A0 and A1.
#define F32GROW(W, X0, X1, A0, A1) \
	VFMADD231PS W, X0, A0 \
	VFMADD231PS W, X1, A1

// F32RED reduces four rows' two accumulators each (A0..A3 first halves,
// B0..B3 second) into four sums at DST, as gemvAVX2's reduce4 does.
#define F32RED(A0, A1, A2, A3, B0, B1, B2, B3, DST) \
	VADDPS B0, A0, Y12 \
	VADDPS B1, A1, Y13 \
	VADDPS B2, A2, Y14 \
	VADDPS B3, A3, Y15 \
	VHADDPS Y13, Y12, Y12 \
	VHADDPS Y15, Y14, Y14 \
	VHADDPS Y14, Y12, Y12 \
	VEXTRACTF128 $1, Y12, X13 \
	VADDPS X13, X12, X12 \
	VMOVUPS X12, DST

// func gemmF32x2AVX512(w, x, y *float32, groups, cols, ystride int)
// groups×4 weight rows of cols floats (cols a multiple of 8) times two
// activation rows x[0:cols] and x[cols:2·cols]; output row r of activation
// row b goes to y[b·ystride + r].
TEXT ·gemmF32x2AVX512(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ y+16(FP), DX
	MOVQ groups+24(FP), R8
	MOVQ cols+32(FP), R10
	SHLQ $2, R10 // row bytes
	MOVQ ystride+40(FP), R9
	SHLQ $2, R9
	LEAQ (DI)(R10*1), R14 // activation row 1

fgroup:
	TESTQ R8, R8
	JE    fdone
	LEAQ (SI)(R10*1), R11
	LEAQ (R11)(R10*1), R12
	LEAQ (R12)(R10*1), R13
	ZERO16TO31
	XORQ AX, AX
	MOVQ R10, BX
	SUBQ $64, BX

floop16:
	CMPQ AX, BX
	JG   floop8
	VMOVUPS (DI)(AX*1), Y0
	VMOVUPS 32(DI)(AX*1), Y1
	VMOVUPS (R14)(AX*1), Y2
	VMOVUPS 32(R14)(AX*1), Y3
	VMOVUPS (SI)(AX*1), Y4
	VMOVUPS (R11)(AX*1), Y5
	VMOVUPS (R12)(AX*1), Y6
	VMOVUPS (R13)(AX*1), Y7
	VMOVUPS 32(SI)(AX*1), Y8
	VMOVUPS 32(R11)(AX*1), Y9
	VMOVUPS 32(R12)(AX*1), Y10
	VMOVUPS 32(R13)(AX*1), Y11
	F32GROW(Y4, Y0, Y2, Y16, Y24)
	F32GROW(Y5, Y0, Y2, Y17, Y25)
	F32GROW(Y6, Y0, Y2, Y18, Y26)
	F32GROW(Y7, Y0, Y2, Y19, Y27)
	F32GROW(Y8, Y1, Y3, Y20, Y28)
	F32GROW(Y9, Y1, Y3, Y21, Y29)
	F32GROW(Y10, Y1, Y3, Y22, Y30)
	F32GROW(Y11, Y1, Y3, Y23, Y31)
	ADDQ $64, AX
	JMP  floop16

floop8:
	CMPQ AX, R10
	JGE  fred
	VMOVUPS (DI)(AX*1), Y0
	VMOVUPS (R14)(AX*1), Y2
	VMOVUPS (SI)(AX*1), Y4
	VMOVUPS (R11)(AX*1), Y5
	VMOVUPS (R12)(AX*1), Y6
	VMOVUPS (R13)(AX*1), Y7
	F32GROW(Y4, Y0, Y2, Y16, Y24)
	F32GROW(Y5, Y0, Y2, Y17, Y25)
	F32GROW(Y6, Y0, Y2, Y18, Y26)
	F32GROW(Y7, Y0, Y2, Y19, Y27)
	ADDQ $32, AX
	JMP  floop8

fred:
	VMOVAPS Y16, Y0
	VMOVAPS Y17, Y1
	VMOVAPS Y18, Y2
	VMOVAPS Y19, Y3
	VMOVAPS Y20, Y4
	VMOVAPS Y21, Y5
	VMOVAPS Y22, Y6
	VMOVAPS Y23, Y7
	F32RED(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, (DX))
	VMOVAPS Y24, Y0
	VMOVAPS Y25, Y1
	VMOVAPS Y26, Y2
	VMOVAPS Y27, Y3
	VMOVAPS Y28, Y4
	VMOVAPS Y29, Y5
	VMOVAPS Y30, Y6
	VMOVAPS Y31, Y7
	F32RED(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, (DX)(R9*1))
	ADDQ $16, DX
	LEAQ (R13)(R10*1), SI
	DECQ R8
	JMP  fgroup

fdone:
	VZEROUPPER
	RET
