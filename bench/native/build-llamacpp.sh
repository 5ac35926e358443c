#!/usr/bin/env bash
# Builds llama.cpp (llama-server, llama-bench, llama-cli, llama-quantize) from the source bundle
# shipped in the npm package node-llama-cpp@3.21.1, caching everything under
# .peers/llama.cpp in the repository root (git-ignored). Idempotent: a finished
# build is reused. Needs npm, git, a C++ compiler and cmake (apt-get install cmake).
# LLAMA_TARGETS narrows the build (CI builds only llama-server and llama-quantize).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PEERS="$ROOT/.peers/llama.cpp"
BIN="$PEERS/build/bin"
read -r -a TARGETS <<< "${LLAMA_TARGETS:-llama-server llama-bench llama-cli llama-quantize}"
missing=0
for t in "${TARGETS[@]}"; do [[ -x "$BIN/$t" ]] || missing=1; done
if [[ $missing == 0 ]]; then
  echo "llama.cpp already built in $BIN"
  exit 0
fi
command -v cmake >/dev/null || { echo "cmake not found: apt-get install -y cmake" >&2; exit 1; }
"$(dirname "$0")/fetch-llamacpp-source.sh"
cd "$PEERS"
cmake -S src -B build -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DGGML_NATIVE=OFF >/dev/null
cmake --build build --target "${TARGETS[@]}" -j2
echo "built llama.cpp in $BIN"
