#!/usr/bin/env bash
# Regenerates internal/engine/native/testdata/ggml-forward-golden.bin: glibc's
# sinf/cosf and ggml's own ggml_vec_dot_f32, ggml_vec_soft_max_f32 and
# ggml_vec_swiglu_f32 (llama.cpp's AVX2 CPU build) on fixed inputs, which
# TestForwardOpsMatchGGML checks llem's forward-pass arithmetic against.
# Needs the llama.cpp build (build-llamacpp.sh) and cc, on x86-64 glibc.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PEERS="$ROOT/.peers/llama.cpp"
BIN=${LLAMACPP_BIN:-$PEERS/build/bin}
OUT="$ROOT/internal/engine/native/testdata/ggml-forward-golden.bin"
mkdir -p "$(dirname "$OUT")" "$ROOT/.peers/bin"
cc -O2 -o "$ROOT/.peers/bin/ggml-forward-golden" "$ROOT/bench/native/ggml-forward-golden.c" \
  -L"$BIN" -l:libggml-cpu.so -l:libggml-base.so -lm -Wl,-rpath,"$BIN"
"$ROOT/.peers/bin/ggml-forward-golden" "$OUT"
echo "wrote $OUT ($(stat -c %s "$OUT") bytes)"
