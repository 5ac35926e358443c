#!/usr/bin/env bash
# Correctness and speed of llem's native engine against llama.cpp on the same
# synthetic GGUF files.
#
# Default mode (one file):
#  1. builds llama.cpp from node-llama-cpp@3.21.1 (cached in .peers/llama.cpp,
#     see build-llamacpp.sh) and llem's nativetool;
#  2. writes a synthetic stories15M GGUF (F32 unless TYPE says otherwise,
#     llem's default weights seed);
#  3. greedy-decodes 3 fixed prompts for 32 tokens in llem and in llama-server
#     (same prompt token ids, BOS included; temperature 0, top_k 1,
#     ignore_eos) and compares the output token ids;
#  4. measures decode: llama-bench tg64 vs llem's `nativetool bench` tg64,
#     3 alternating rounds, and prints the best of each and the ratio.
#
# Usage: bench/native/compare-llamacpp.sh [THREADS]   (default 1)
#        TYPE=q8_0 bench/native/compare-llamacpp.sh   (a type llem writes: f32 default, f16, bf16, q8_0, q5_1, q5_0, q4_1, q4_0;
#        llama.cpp quantizes activations for f16/q8_0 weights, so ids may then differ)
#        SHAPE=stories110M TYPE=Q4_K_M bench/native/compare-llamacpp.sh
#        (an upper-case TYPE is a llama-quantize file type: Q4_K_M, Q5_K_M,
#        Q6_K, Q3_K_M, Q2_K, Q4_1, Q5_0, Q5_1, …; the F32 synthetic model is
#        quantised by llama.cpp's own llama-quantize. k-quants need rows that
#        are multiples of 256, so use stories110M, whose dims all are.)
#
# Matrix mode: bench/native/compare-llamacpp.sh --matrix
#  For each file in FILES (default "stories15M:f32 stories110M:f32
#  stories110M:Q8_0 stories110M:Q4_K_M stories110M:Q4_0", SHAPE:TYPE as above)
#  and each thread count in THREADS_LIST (default "1 2"), ROUNDS rounds
#  (default 3) that alternate llama.cpp and llem (which goes first alternates
#  too): `llama-bench -p 128 -n 64 -r REPS -t T -o json` and
#  `nativetool bench --pp 128 --n 64 --reps REPS --threads T --json`, and
#  per file and thread count the decode bandwidth limit (`nativetool roofline`)
#  (REPS default 3). Both report pp128 (prefill: 128 prompt tokens, BOS
#  included, over the time to evaluate them) and tg64 (decode: 64 tokens over
#  the time of 64 single-token passes from an empty context), load excluded,
#  after a warm-up. A round's figure is the best of its REPS repetitions; the
#  table shows the best over the rounds (the least disturbed run on a shared
#  machine) as a markdown table: file | threads | test | llama.cpp tok/s |
#  llem tok/s | llem ÷ llama.cpp | bandwidth limit tok/s. Then llem's decode throughput (tg64) at
#  batch BATCH (default 8) against batch 1 on BATCH_FILE (default
#  stories110M:Q8_0) at each thread count, same rounds. IDS=1 also runs the
#  greedy id comparison once per file (1 thread). PP and TG change the test
#  sizes (default 128 and 64); LLAMA_BENCH_ARGS adds llama-bench flags (it
#  runs with its defaults: F16 KV cache, flash attention auto; llem keeps an
#  F32 KV cache). Raw figures go to $PEER_WORK/matrix.tsv.
#  The batch comparison has its own runs (engine llem-batch in the raw table),
#  batch 1 and batch BATCH back to back in each round. A full run writes 5
#  files and takes 6 to 10 minutes on 2 cores once llama.cpp is built (374 s
#  on a shared 2-core VM).
#  Reduced run: FILES=stories15M:f32 THREADS_LIST=1 ROUNDS=1 BATCH_FILE=
#  bench/native/compare-llamacpp.sh --matrix  (BATCH_FILE empty skips the batch
#  comparison).
#
# --native (or NATIVE=1), either mode: build llama.cpp a second time with
# GGML_NATIVE=ON (-march=native: AVX-512 where the CPU has it) into
# .peers/llama.cpp/build-native and compare with that build instead of the
# portable (AVX2) one. A bench option, not for CI: the build takes 9 to 26
# minutes on 2 cores (once; it is cached).
#
# PEER_WORK (default .peers in the repository root) is where the models, the
# tool binaries and the logs go; llama.cpp's build always lives in .peers.
# Needs: go, npm, git, cmake, a C++ compiler, python3, curl.
set -euo pipefail
# shellcheck source=bench/native/peer-lib.sh
. "$(dirname "$0")/peer-lib.sh"

THREADS=1
MODE=single
for arg in "$@"; do
  case "$arg" in
    --matrix) MODE=matrix ;;
    --native) NATIVE=1 ;;
    [0-9]*) THREADS=$arg ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done
NATIVE=${NATIVE:-0}
PORT=${PORT:-18089}
N=32


# greedy_ids MODEL PEER_MODEL THREADS: llem's greedy ids on MODEL against
# llama-server's on PEER_MODEL (prints ALL MATCH or DIFFER; never fails).
greedy_ids() {
  local model=$1 peer_model=$2 threads=$3 server
  local prompts=("Once upon a time there was a little fox" "The committee met on Thursday to review the budget." "How many kilowatt-hours does it take to answer a question?")
  "$TOOL" greedy --model "$model" --threads "$threads" --n "$N" "${prompts[@]}" > "$WORK/llem-greedy.jsonl"
  "$BIN/llama-server" -m "$peer_model" --host 127.0.0.1 --port "$PORT" -t "$threads" -c 2048 -np 1 \
    --cache-type-k f32 --cache-type-v f32 -fa off > "$WORK/llama-server.log" 2>&1 &
  server=$!
  # shellcheck disable=SC2064 # the server's pid, now
  trap "kill $server 2>/dev/null || true" EXIT
  for _ in $(seq 1 120); do
    curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
    sleep 0.5
  done
  python3 - "$WORK/llem-greedy.jsonl" "$PORT" "$N" <<'PY'
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
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  trap - EXIT
}

# ids_for TYPE THREADS: the greedy comparison for MODEL. On llama-quantize
# files llama.cpp runs its own F32 decoding of the file: on quantised weights
# it multiplies int8-quantised activations, so its greedy ids drift from
# llem's (float activations) after a few tokens; its F32 decoding has the
# same weights with float activations.
ids_for() {
  local peer=$MODEL
  if [[ "$1" =~ [A-Z] ]]; then
    peer_model_f32 "$MODEL"
    peer=$PEER_MODEL
    echo "greedy ids compared with llama.cpp running $peer (its F32 decoding of $1)"
  fi
  greedy_ids "$MODEL" "$peer" "$2"
}

# llama_bench_tsv MODEL THREADS: one llama-bench run of ppPP and tgTG, printed
# as "pp<TAB>tokens/s" and "tg<TAB>tokens/s" (best of its REPS repetitions).
llama_bench_tsv() {
  # shellcheck disable=SC2086 # LLAMA_BENCH_ARGS is a list of flags
  "$BIN/llama-bench" -m "$1" -t "$2" -p "$PP" -n "$TG" -r "$REPS" -o json ${LLAMA_BENCH_ARGS:-} 2>>"$WORK/llama-bench.log" |
    python3 -c '
import json, sys
for r in json.load(sys.stdin):
    test = "pp" if r["n_gen"] == 0 else "tg"
    print(test, max(r.get("samples_ts") or [r["avg_ts"]]), sep="\t")'
}

# llem_bench_tsv MODEL THREADS BATCH [PP]: the same from nativetool bench.
llem_bench_tsv() {
  local args=(--model "$1" --threads "$2" --batch "$3" --n "$TG" --reps "$REPS" --json)
  if [[ -n "${4:-}" ]]; then args+=(--pp "$4"); fi
  "$TOOL" bench "${args[@]}" | python3 -c '
import json, sys
r = json.load(sys.stdin)
if "pp" in r:
    print("pp", r["pp"], sep="\t")
print("tg", r["tg"], sep="\t")'
}

# record ENGINE LABEL THREADS BATCH ROUND: appends stdin's test/value lines
# to the raw table.
record() {
  local test v size
  while IFS=$'\t' read -r test v; do
    size=$TG
    [[ $test == pp ]] && size=$PP
    printf '%s\t%s\t%s\t%s\t%s%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$test" "$size" "$5" "$v" >> "$RAW"
  done
}

matrix() {
  local files threads spec shape type label round t b engines engine in_files
  read -r -a files <<< "${FILES:-stories15M:f32 stories110M:f32 stories110M:Q8_0 stories110M:Q4_K_M stories110M:Q4_0}"
  read -r -a threads <<< "${THREADS_LIST:-1 2}"
  ROUNDS=${ROUNDS:-3} REPS=${REPS:-3} PP=${PP:-128} TG=${TG:-64}
  local batch=${BATCH:-8} batch_file=${BATCH_FILE-stories110M:Q8_0}
  RAW="$WORK/matrix.tsv"
  printf 'engine\tfile\tthreads\tbatch\ttest\tround\ttokens_per_s\n' > "$RAW"
  local start=$SECONDS
  local specs=("${files[@]}")
  if [[ -n "$batch_file" && " ${files[*]} " != *" $batch_file "* ]]; then specs+=("$batch_file"); fi
  for spec in "${specs[@]}"; do
    shape=${spec%%:*} type=${spec#*:}
    label="$shape-$type"
    in_files=0
    if [[ " ${files[*]} " == *" $spec "* ]]; then in_files=1; fi
    peer_model "$shape" "$type"
    if [[ "${IDS:-0}" == 1 && $in_files == 1 ]]; then ids_for "$type" 1; fi
    for t in "${threads[@]}"; do
      for round in $(seq 1 "$ROUNDS"); do
        if [[ $in_files == 1 ]]; then
          # Alternate who goes first, so a drifting load hits both alike.
          engines=(llama.cpp llem)
          if ((round % 2 == 0)); then engines=(llem llama.cpp); fi
          for engine in "${engines[@]}"; do
            if [[ $engine == llem ]]; then
              llem_bench_tsv "$MODEL" "$t" 1 "$PP" | record llem "$label" "$t" 1 "$round"
            else
              llama_bench_tsv "$MODEL" "$t" | record llama.cpp "$label" "$t" 1 "$round"
            fi
          done
        fi
        if [[ "$spec" == "$batch_file" ]]; then
          for b in 1 "$batch"; do
            llem_bench_tsv "$MODEL" "$t" "$b" | record llem-batch "$label" "$t" "$b" "$round"
          done
        fi
        echo "  $label, $t thread(s): round $round done ($((SECONDS - start)) s)"
      done
      if [[ $in_files == 1 ]]; then
        # The decode ceiling: weight bytes per token over the measured read bandwidth.
        "$TOOL" roofline --model "$MODEL" --threads "$t" |
          python3 -c 'import json, sys; print("tg", json.load(sys.stdin)["limit_tokens_per_s"], sep="\t")' |
          record roofline "$label" "$t" 1 1
      fi
    done
  done
  python3 - "$RAW" "$batch" "$([[ "$NATIVE" == 1 ]] && echo "GGML_NATIVE=ON" || echo "GGML_NATIVE=OFF")" "$ROUNDS" "$REPS" <<'PY'
import csv, sys
path, batch, build, rounds, reps = sys.argv[1:]
batch = int(batch)
best, order = {}, []
for r in csv.DictReader(open(path), delimiter="\t"):
    key = (r["engine"], r["file"], int(r["threads"]), int(r["batch"]), r["test"])
    best[key] = max(best.get(key, 0.0), float(r["tokens_per_s"]))
    row = (r["file"], int(r["threads"]), r["test"])
    if r["engine"] == "llama.cpp" and row not in order:
        order.append(row)
print(f"\nllama.cpp ({build}) and llem, tokens/s, best of {rounds} alternating round(s) x {reps} repetition(s)\n")
print("| file | threads | test | llama.cpp tok/s | llem tok/s | llem ÷ llama.cpp | bandwidth limit tok/s |")
print("|---|---|---|---|---|---|---|")
for f, t, test in order:
    p, m = best.get(("llama.cpp", f, t, 1, test)), best.get(("llem", f, t, 1, test))
    lim = best.get(("roofline", f, t, 1, test))
    if p and m:
        print(f"| {f} | {t} | {test} | {p:.1f} | {m:.1f} | {m / p:.2f} | {f'{lim:.0f}' if lim else '—'} |")
print("\n(bandwidth limit: the file's weight bytes read per decoded token over this machine's streaming")
print("read bandwidth at that thread count, `nativetool roofline`; the L3 cache can hold part of a small model)")
rows = sorted({(k[1], k[2], k[4]) for k in best if k[0] == "llem-batch" and k[3] == batch and batch != 1})
if rows:
    print(f"\nllem decode throughput, batch {batch} vs batch 1 (tokens/s summed over the batch)\n")
    print(f"| file | threads | test | batch 1 tok/s | batch {batch} tok/s | batch {batch} ÷ batch 1 |")
    print("|---|---|---|---|---|---|")
    for f, t, test in rows:
        one, many = best[("llem-batch", f, t, 1, test)], best[("llem-batch", f, t, batch, test)]
        print(f"| {f} | {t} | {test} | {one:.1f} | {many:.1f} | {many / one:.2f} |")
print(f"\nraw figures: {path}")
PY
  echo "matrix took $((SECONDS - start)) s"
}

peer_init
if [[ $MODE == matrix ]]; then
  matrix
  exit 0
fi

TYPE=${TYPE:-f32}
SHAPE=${SHAPE:-stories15M}
peer_model "$SHAPE" "$TYPE"
ids_for "$TYPE" "$THREADS"

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
