# shellcheck shell=bash
# Shared by the llama.cpp comparison scripts (sourced, not run): builds the
# tools once and prepares the synthetic GGUF files.
#
#   peer_init            sets ROOT, PEERS (llama.cpp cache), WORK (models,
#                        binaries, logs), BIN (llama.cpp's bin), TOOL
#                        (nativetool), LLEM; builds llama.cpp (NATIVE=1: the
#                        GGML_NATIVE=ON tree, see build-llamacpp.sh) and llem.
#   peer_model SHAPE TYPE
#                        sets MODEL to SHAPE-TYPE.gguf in WORK, written by
#                        `llem model synth` (lower-case TYPE: a type llem
#                        writes) or quantised from llem's F32 file by
#                        llama.cpp's llama-quantize (upper-case TYPE: a
#                        llama-quantize file type such as Q4_K_M); each file
#                        is written once per run.
#   peer_model_f32 MODEL sets PEER_MODEL to llama.cpp's own F32 decoding of
#                        MODEL (same weights, float activations), for greedy
#                        id comparisons on quantised files.
#
# Environment: NATIVE=1 (compare with the GGML_NATIVE=ON build), PEER_WORK
# (where models, binaries and logs go; default .peers in the repository root).

peer_init() {
  ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
  PEERS="$ROOT/.peers"
  WORK=${PEER_WORK:-$PEERS}
  if [[ "${NATIVE:-0}" == 1 ]]; then
    BIN="$PEERS/llama.cpp/build-native/bin"
  else
    BIN="$PEERS/llama.cpp/build/bin"
  fi
  NATIVE=${NATIVE:-0} "$ROOT/bench/native/build-llamacpp.sh"
  mkdir -p "$WORK/bin"
  (cd "$ROOT" && go build -o "$WORK/bin/nativetool" ./internal/engine/native/cmd/nativetool &&
    go build -o "$WORK/bin/llem" ./cmd/llem)
  TOOL="$WORK/bin/nativetool"
  LLEM="$WORK/bin/llem"
  PEER_PREPARED=" "
  echo "llama.cpp: $BIN ($([[ "${NATIVE:-0}" == 1 ]] && echo "GGML_NATIVE=ON" || echo "GGML_NATIVE=OFF, portable AVX2"))"
}

# peer_synth SHAPE TYPE OUT: llem's synthetic file, once per run.
peer_synth() {
  [[ "$PEER_PREPARED" == *" $3 "* ]] && return 0
  "$LLEM" model synth --shape "$1" --type "$2" --out "$3"
  PEER_PREPARED+="$3 "
}

peer_model() {
  local shape=$1 type=$2
  MODEL="$WORK/$shape-$type.gguf"
  if [[ "$type" =~ [A-Z] ]]; then
    peer_synth "$shape" f32 "$WORK/$shape-f32.gguf"
    if [[ "$PEER_PREPARED" != *" $MODEL "* ]]; then
      "$BIN/llama-quantize" "$WORK/$shape-f32.gguf" "$MODEL" "$type" 2 > "$WORK/llama-quantize.log" 2>&1 ||
        { tail -20 "$WORK/llama-quantize.log"; return 1; }
      PEER_PREPARED+="$MODEL "
    fi
    "$TOOL" types --model "$MODEL"
  else
    peer_synth "$shape" "$type" "$MODEL"
  fi
  echo "model: $MODEL ($(du -h "$MODEL" | cut -f1))"
}

peer_model_f32() {
  PEER_MODEL="${1%.gguf}-as-f32.gguf"
  "$BIN/llama-quantize" --allow-requantize "$1" "$PEER_MODEL" F32 2 >> "$WORK/llama-quantize.log" 2>&1
}
