#!/usr/bin/env bash
# Correctness and speed of llem's native engine against llama.cpp on the same
# synthetic GGUF file.
#
#  1. builds llama.cpp from node-llama-cpp@3.21.1 (cached in .peers/llama.cpp,
#     see build-llamacpp.sh) and llem's nativetool;
#  2. writes a synthetic stories15M GGUF (F32 unless TYPE says otherwise,
#     llem's default weights seed);
#  3. greedy-decodes 3 fixed prompts for 32 tokens in llem and in llama-server
#     (same prompt token ids, BOS included; temperature 0, top_k 1,
#     ignore_eos) and compares the output token ids;
#  4. measures single-thread decode: llama-bench tg64 vs llem's decode of 64
#     tokens, and prints the ratio.
#
# Usage: bench/native/compare-llamacpp.sh [THREADS]   (default 1)
#        TYPE=q8_0 bench/native/compare-llamacpp.sh   (a type llem writes: f32 default, f16, bf16, q8_0, q5_1, q5_0, q4_1, q4_0;
#        llama.cpp quantizes activations for f16/q8_0 weights, so ids may then differ)
#        SHAPE=stories110M TYPE=Q4_K_M bench/native/compare-llamacpp.sh
#        (an upper-case TYPE is a llama-quantize file type: Q4_K_M, Q5_K_M,
#        Q6_K, Q3_K_M, Q2_K, Q4_1, Q5_0, Q5_1, …; the F32 synthetic model is
#        quantised by llama.cpp's own llama-quantize. k-quants need rows that
#        are multiples of 256, so use stories110M, whose dims all are.)
# Needs: go, npm, git, cmake, a C++ compiler, python3, curl.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
THREADS=${1:-1}
PEERS="$ROOT/.peers"
BIN="$PEERS/llama.cpp/build/bin"
TYPE=${TYPE:-f32}
SHAPE=${SHAPE:-stories15M}
MODEL="$PEERS/$SHAPE-$TYPE.gguf"
PORT=${PORT:-18089}
N=32

"$ROOT/bench/native/build-llamacpp.sh"
mkdir -p "$PEERS/bin"
(cd "$ROOT" && go build -o "$PEERS/bin/nativetool" ./internal/engine/native/cmd/nativetool && go build -o "$PEERS/bin/llem" ./cmd/llem)
TOOL="$PEERS/bin/nativetool"
if [[ "$TYPE" =~ [A-Z] ]]; then
  "$PEERS/bin/llem" model synth --shape "$SHAPE" --type f32 --out "$PEERS/$SHAPE-f32.gguf"
  "$BIN/llama-quantize" "$PEERS/$SHAPE-f32.gguf" "$MODEL" "$TYPE" 2 > "$PEERS/llama-quantize.log" 2>&1 ||
    { tail -20 "$PEERS/llama-quantize.log"; exit 1; }
  "$TOOL" types --model "$MODEL"
  # llama.cpp multiplies k-quant weights with int8-quantised activations, so
  # its greedy ids drift from llem's (float activations) after a few tokens.
  # For the id comparison llama.cpp instead runs its own F32 decoding of the
  # quantised file: the same weights, with float activations.
  PEER_MODEL="$PEERS/$SHAPE-$TYPE-as-f32.gguf"
  "$BIN/llama-quantize" --allow-requantize "$MODEL" "$PEER_MODEL" F32 2 >> "$PEERS/llama-quantize.log" 2>&1
  echo "greedy ids compared with llama.cpp running $PEER_MODEL (its F32 decoding of $TYPE)"
else
  "$PEERS/bin/llem" model synth --shape "$SHAPE" --type "$TYPE" --out "$MODEL"
fi
PEER_MODEL=${PEER_MODEL:-$MODEL}
echo "model: $MODEL ($(du -h "$MODEL" | cut -f1))"

PROMPTS=("Once upon a time there was a little fox" "The committee met on Thursday to review the budget." "How many kilowatt-hours does it take to answer a question?")
"$TOOL" greedy --model "$MODEL" --threads "$THREADS" --n "$N" "${PROMPTS[@]}" > "$PEERS/llem-greedy.jsonl"

"$BIN/llama-server" -m "$PEER_MODEL" --host 127.0.0.1 --port "$PORT" -t "$THREADS" -c 2048 -np 1 \
  --cache-type-k f32 --cache-type-v f32 -fa off > "$PEERS/llama-server.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
  sleep 0.5
done

python3 - "$PEERS/llem-greedy.jsonl" "$PORT" "$N" <<'PY'
import json, sys, urllib.request
path, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
ok = True
for i, line in enumerate(open(path)):
    rec = json.loads(line)
    body = {"prompt": rec["prompt_ids"], "n_predict": n, "temperature": 0, "top_k": 1,
            "ignore_eos": True, "return_tokens": True, "cache_prompt": False, "samplers": ["top_k"]}
    req = urllib.request.Request(f"http://127.0.0.1:{port}/completion", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    resp = json.load(urllib.request.urlopen(req, timeout=120))
    peer = resp.get("tokens", [])
    mine = rec["output_ids"]
    same = sum(1 for a, b in zip(mine, peer) if a == b)
    first = next((j for j, (a, b) in enumerate(zip(mine, peer)) if a != b), None)
    match = mine == peer
    ok &= match
    print(f"prompt {i}: {len(rec['prompt_ids'])} prompt tokens (llama.cpp evaluated {resp.get('tokens_evaluated')}), "
          f"{'MATCH' if match else 'MISMATCH'} {same}/{len(mine)} ids"
          + ("" if match else f", first difference at {first}"))
    print(f"  llem:      {mine}")
    print(f"  llama.cpp: {peer}")
print("greedy token ids:", "ALL MATCH" if ok else "DIFFER")
PY
kill "$SERVER" 2>/dev/null || true
wait "$SERVER" 2>/dev/null || true
trap - EXIT

echo "--- decode speed, $THREADS thread(s), 64 tokens; llama.cpp and llem alternate 3 rounds, best of each ---"
echo "(shared machine: timings are noisy; the best of several interleaved runs is the least disturbed)"
PEER_BEST=0
LLEM_BEST=0
for round in 1 2 3; do
  # Best of llama-bench's 3 repetitions, as llem's bench reports its best of 3.
  PEER_TPS=$("$BIN/llama-bench" -m "$MODEL" -t "$THREADS" -p 0 -n 64 -r 3 -o json 2>/dev/null |
    python3 -c 'import json,sys; r=json.load(sys.stdin)[0]; print(max(r.get("samples_ts") or [r["avg_ts"]]))')
  LLEM_LINE=$("$TOOL" bench --model "$MODEL" --threads "$THREADS" --batch 1 --n 64)
  LLEM_TPS=$(echo "$LLEM_LINE" | sed -E 's/.*decode=([0-9.]+) tokens.*/\1/')
  printf 'round %d: llama-bench tg64 best of 3 %.1f tokens/s | %s\n' "$round" "$PEER_TPS" "$LLEM_LINE"
  PEER_BEST=$(python3 -c "print(max($PEER_BEST, $PEER_TPS))")
  LLEM_BEST=$(python3 -c "print(max($LLEM_BEST, $LLEM_TPS))")
done
python3 -c "print(f'best: llama.cpp {$PEER_BEST:.1f} tokens/s, llem {$LLEM_BEST:.1f} tokens/s, ratio llem/llama.cpp = {$LLEM_BEST/$PEER_BEST:.2f}')"
