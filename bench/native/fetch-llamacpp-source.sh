#!/usr/bin/env bash
# Fetches llama.cpp's source (MIT) from the bundle shipped in the npm package
# node-llama-cpp@3.21.1 into .peers/llama.cpp/src (git-ignored), without
# building it. The native engine's tokenizer tests read llama.cpp's
# vocabulary-only GGUF files and test strings from src/models there; the
# peer comparison builds from the same tree. Idempotent; about 5 s.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PEERS="$ROOT/.peers/llama.cpp"
VERSION=3.21.1
if [[ -d "$PEERS/src/models" ]]; then
  exit 0
fi
command -v npm >/dev/null || { echo "npm not found: apt-get install -y npm (or use Node.js from nodejs.org)" >&2; exit 1; }
mkdir -p "$PEERS"
cd "$PEERS"
npm pack --silent "node-llama-cpp@$VERSION" >/dev/null
tar xzf "node-llama-cpp-$VERSION.tgz"
git -c advice.detachedHead=false clone -q package/llama/gitRelease.bundle src
rm -rf package "node-llama-cpp-$VERSION.tgz"
echo "llama.cpp source in $PEERS/src"
