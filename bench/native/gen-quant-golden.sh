#!/usr/bin/env bash
# Regenerates internal/engine/native/testdata/ggml-quant-golden.bin: rows
# quantised and decoded by ggml itself, which TestDequantMatchesGGML checks
# llem's decoders against. Needs the llama.cpp build (build-llamacpp.sh) and cc.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PEERS="$ROOT/.peers/llama.cpp"
"$ROOT/bench/native/build-llamacpp.sh"
OUT="$ROOT/internal/engine/native/testdata/ggml-quant-golden.bin"
mkdir -p "$(dirname "$OUT")" "$ROOT/.peers/bin"
cc -O2 -o "$ROOT/.peers/bin/ggml-quant-golden" "$ROOT/bench/native/ggml-quant-golden.c" \
  -I"$PEERS/src/ggml/include" -L"$PEERS/build/bin" -lggml-base -lm -Wl,-rpath,"$PEERS/build/bin"
"$ROOT/.peers/bin/ggml-quant-golden" "$OUT"
echo "wrote $OUT ($(stat -c %s "$OUT") bytes)"
