#!/usr/bin/env bash
# What `llem run --metrics` costs a native run's throughput: the same
# experiment run alternately without and with --metrics (a scraper reading
# /metrics every SCRAPE_EVERY seconds, default 0.2, during the "with" runs),
# and the mean output tok/s of each, with their difference.
#
# Usage: bench/metrics/overhead.sh [PAIRS]     (default 5 pairs)
#        MODEL=tiny N=400 OUTPUT_LEN=64 bench/metrics/overhead.sh
# Needs: go, python3. The goal: under 1% (the difference is within
# the run-to-run spread when it is met).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PAIRS=${1:-5}
MODEL=${MODEL:-stories15M}
N=${N:-24}
OUTPUT_LEN=${OUTPUT_LEN:-64}
PORT=${PORT:-19464}
SCRAPE_EVERY=${SCRAPE_EVERY:-0.2}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
(cd "$ROOT" && go build -o "$WORK/llem" ./cmd/llem)
cat > "$WORK/exp.yaml" <<YAML
model: $MODEL
backend: native
n: $N
dataset: {name: synthetic, input_len: 32, output_len: $OUTPUT_LEN}
native: {batch_size: 4}
baseline: {enabled: false}
warmup: {enabled: false}
YAML

tps() { python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["throughput"]["output_tokens_per_s"])'; }

run_plain() { "$WORK/llem" run "$WORK/exp.yaml" -o "$WORK/results" -q --json | tps; }
# One long-lived scraper on a kept-alive connection, so that the bench
# does not charge llem for starting a process per scrape.
cat > "$WORK/scrape.py" <<'PY'
import http.client, sys, time
port, every = int(sys.argv[1]), float(sys.argv[2])
conn = None
while True:
    time.sleep(every)
    try:
        conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/metrics")
        conn.getresponse().read()
    except Exception:
        conn = None
PY
run_metrics() {
  python3 "$WORK/scrape.py" "$PORT" "$SCRAPE_EVERY" &
  local scraper=$!
  "$WORK/llem" run "$WORK/exp.yaml" -o "$WORK/results" -q --json --metrics "127.0.0.1:$PORT" | tps
  kill "$scraper" 2>/dev/null || true
  wait "$scraper" 2>/dev/null || true
}

run_plain >/dev/null # warm the page cache and the CPU
plain=() with=()
for i in $(seq "$PAIRS"); do
  if (( i % 2 )); then
    plain+=("$(run_plain)"); with+=("$(run_metrics)")
  else
    with+=("$(run_metrics)"); plain+=("$(run_plain)")
  fi
  echo "pair $i: without ${plain[-1]} tok/s, with --metrics ${with[-1]} tok/s"
done
python3 - "${plain[*]}" "${with[*]}" <<'PY'
import statistics as st, sys
a = [float(x) for x in sys.argv[1].split()]
b = [float(x) for x in sys.argv[2].split()]
ma, mb = st.mean(a), st.mean(b)
sa = st.stdev(a) if len(a) > 1 else 0
sb = st.stdev(b) if len(b) > 1 else 0
print(f"without --metrics: {ma:.1f} tok/s (sd {sa:.1f}, {len(a)} runs)")
print(f"with --metrics:    {mb:.1f} tok/s (sd {sb:.1f}, {len(b)} runs)")
print(f"difference of means: {100*(mb-ma)/ma:+.2f}% (run-to-run sd {100*sa/ma:.2f}%)")
da, db = st.median(a), st.median(b)
print(f"medians: {da:.1f} and {db:.1f} tok/s, difference {100*(db-da)/da:+.2f}%")
# Paired: each pair ran back to back, so slow spells of a shared machine
# hit both of a pair alike.
r = [y / x for x, y in zip(a, b)]
print(f"median of the pairs' ratios: {100*(st.median(r)-1):+.2f}%")
PY
