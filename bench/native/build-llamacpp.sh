#!/usr/bin/env bash
# Builds llama.cpp (llama-server, llama-bench, llama-cli, llama-quantize) from the source bundle
# shipped in the npm package node-llama-cpp@3.21.1, caching everything under
# .peers/llama.cpp in the repository root (git-ignored). Idempotent: a finished
# build is reused. Needs npm, git, a C++ compiler and cmake (apt-get install cmake).
# LLAMA_TARGETS narrows the build (CI builds only llama-server and llama-quantize).
#
# NATIVE=1 builds a second tree, .peers/llama.cpp/build-native, with
# GGML_NATIVE=ON (-march=native: AVX-512 where the CPU has it) instead of the
# portable build/ (GGML_NATIVE=OFF, AVX2). A bench option, not for CI: a
# llama.cpp build from scratch takes 9 to 26 minutes on 2 cores.
#
# Paths are resolved physically (cd -P), so a .peers that is a symlink (a git
# worktree sharing the main checkout's .peers) reuses that build tree instead
# of rewriting its CMake cache with the symlinked path, which would rebuild
# everything.
set -euo pipefail
ROOT=$(cd -P "$(dirname "$0")/../.." && pwd -P)
mkdir -p "$ROOT/.peers/llama.cpp"
PEERS=$(cd -P "$ROOT/.peers/llama.cpp" && pwd -P)
if [[ "${NATIVE:-0}" == 1 ]]; then
  BUILD=build-native
  NATIVE_FLAG=ON
else
  BUILD=build
  NATIVE_FLAG=OFF
fi
BIN="$PEERS/$BUILD/bin"
read -r -a TARGETS <<< "${LLAMA_TARGETS:-llama-server llama-bench llama-cli llama-quantize}"
missing=0
for t in "${TARGETS[@]}"; do [[ -x "$BIN/$t" ]] || missing=1; done
if [[ $missing == 0 ]]; then
  echo "llama.cpp already built in $BIN"
  exit 0
fi
command -v cmake >/dev/null || { echo "cmake not found: apt-get install -y cmake" >&2; exit 1; }
"$(dirname "$0")/fetch-llamacpp-source.sh"
cd -P "$PEERS"
cmake -S src -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DGGML_NATIVE="$NATIVE_FLAG" >/dev/null
cmake --build "$BUILD" --target "${TARGETS[@]}" -j"${JOBS:-2}"
echo "built llama.cpp in $BIN"
