#!/usr/bin/env bash
# gpu-check.sh: llem's first check on a real GPU, in one short run.
#
# The GPU machine (one H200, 16 cores, Python with torch 2.11, transformers
# 5.x, accelerate and nvidia-ml-py; no Go, no network, no vLLM/TensorRT-LLM)
# is lent for 15 minutes in all, its start included, at most 10 minutes per
# command. This script needs at most 8 minutes and keeps going when a step
# fails: the summary says which steps ran.
#
# 1. Build here (Go with cgo, for NVML), stripped, into the git-ignored bin/:
#
#      export CGO_CFLAGS="-O2 -g -Wno-deprecated-declarations"
#      CGO_ENABLED=1 go build -trimpath -ldflags='-s -w' -o bin/llem ./cmd/llem
#
# 2. Carry bin (about 30 MiB; all that travels must stay under 64 MiB) and
#    run from the repository root, with the device tool:
#
#      run(command="bash scripts/gpu-check.sh", carry=["bin"], timeout_s=540)
#
# 3. Everything lands in $OUT (7 files, flat): gpu-check.md (the summary),
#    gpu-check.json, gpu-check.log (all output), config.json (llem config
#    --json), power.jsonl (the independent pynvml log), report.md, and
#    results.tar.gz (the study and CPU run folders, HTML report included).
#    Copy gpu-check.md's tables into docs/validation.md.
#
# Steps, in order, each independent and bounded by the time left:
#   config   llem config --json: GPU, NVML energy counter, driver, CUDA
#   python   the machine's Python: torch, transformers, CUDA, pynvml versions
#   powerlog gpu-check-power.py: pynvml power + total-energy counter, 10 Hz,
#            started before the study and stopped after it, by PID
#   study    pytorch, random-init llama-3.2-1b shape, bf16, batch 1/8/32,
#            1 cycle, 5 s baseline, 1 warm-up (30 s floor), >= 10 s windows
#   cpu      a short native run on the CPU cores (RAPL if exposed)
#   gpuknobs the gpu: settings (power limit, locked SM clock) as a sweep:
#            the same small pytorch run at the default power limit, at the
#            card's lowest, and with the SM clock locked at a middle
#            supported clock; llem sets each before the baseline, reads it
#            back and restores it. Needs root: without it the step is
#            skipped with NVML's reason. gpuknobs-restored then checks with
#            pynvml that the power limit is back where it was.
#   report   llem report: HTML (in the tarball) and markdown
#   summary  gpu-check-summary.py: energy agreement, J/token by batch size,
#            sampler overhead, every warning
#
# Rehearsal (no GPU needed; run by TestGPUCheckRehearsal in CI):
#
#      OUT=/tmp/x LLEM=bin/llem bash scripts/gpu-check.sh --rehearse
#
# runs the same steps with the native engine in place of pytorch and
# without the pynvml log, and dry-runs the GPU study (step gpu-study), so a
# configuration rule that would refuse it fails CI rather than the GPU run. Environment: OUT (required on the GPU machine;
# a temporary folder in a rehearsal), LLEM (default bin/llem), GPU_CHECK_PYTHON
# (the Python that holds torch; default the first of python3, python,
# /opt/conda/bin/python, ... that imports torch), GPU_CHECK_BUDGET_S
# (default 470).
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1

mode=gpu
if [ "${1:-}" = "--rehearse" ]; then mode=rehearsal; fi
LLEM=${LLEM:-bin/llem}
# The Python that holds torch: GPU_CHECK_PYTHON, else the first of these
# that imports torch (on the GPU machine), else python3.
PY=${GPU_CHECK_PYTHON:-}
if [ -z "$PY" ] && [ "$mode" = gpu ]; then
  for cand in python3 python /opt/conda/bin/python /usr/local/bin/python3 /usr/bin/python3; do
    if command -v "$cand" >/dev/null && timeout 60 "$cand" -c 'import torch' 2>/dev/null; then
      PY=$(command -v "$cand"); break
    fi
  done
fi
PY=${PY:-$(command -v python3 || echo python3)}
BUDGET=${GPU_CHECK_BUDGET_S:-470}
if [ -z "${OUT:-}" ]; then
  if [ "$mode" = gpu ]; then echo "gpu-check: OUT is not set (the device tool sets it)" >&2; exit 2; fi
  OUT=$(mktemp -d)
fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d)
LOG="$OUT/gpu-check.log"
STEPS="$WORK/steps.tsv"
: >"$LOG"
: >"$STEPS"
say() { echo "[gpu-check $(date -u +%H:%M:%S) +${SECONDS}s] $*" | tee -a "$LOG"; }
left() { echo $((BUDGET - SECONDS)); }

# step NAME LIMIT_S CMD...: runs CMD with its output in the log, bounded by
# LIMIT_S and by what is left of the budget, and records the outcome.
step() {
  local name=$1 limit=$2; shift 2
  local l; l=$(left)
  if [ "$l" -lt "$limit" ]; then limit=$l; fi
  if [ "$limit" -lt 5 ]; then
    say "$name: skipped (time budget spent)"
    printf '%s\tskipped (no time left)\t0\n' "$name" >>"$STEPS"
    return 1
  fi
  say "$name: start (limit ${limit}s)"
  local t0=$SECONDS rc
  timeout --kill-after=10 "$limit" "$@" 2>&1 | tee -a "$LOG"
  rc=${PIPESTATUS[0]}
  local status=ok
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then status="timed out after ${limit}s"
  elif [ "$rc" != 0 ]; then status="failed (exit $rc)"; fi
  say "$name: $status in $((SECONDS - t0))s"
  printf '%s\t%s\t%s\n' "$name" "$status" "$((SECONDS - t0))" >>"$STEPS"
  [ "$rc" = 0 ]
}
skip() { say "$1: skipped ($2)"; printf '%s\tskipped (%s)\t0\n' "$1" "$2" >>"$STEPS"; }

say "mode $mode, llem $LLEM, python $PY, out $OUT, work $WORK, budget ${BUDGET}s"
if [ ! -x "$LLEM" ]; then say "no llem binary at $LLEM: build it first (see this script's header)"; fi

# ---- 1. config ----------------------------------------------------------
config_check() {
  "$LLEM" config --json >"$OUT/config.json" || return 1
  "$PY" - "$OUT/config.json" "$mode" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["result"]  # the --json envelope: {kind, study_dir, result}
env = d["machine"]["environment"]
src = d["machine"].get("energy_sources") or []
counter = [s for s in src if (s.get("domain") or {}).get("kind") == "gpu" and s.get("source") == "nvml_energy_counter"]
print("GPUs: %s" % [g.get("name") for g in env.get("gpus") or []])
print("driver %s, CUDA %s" % (env.get("driver_version"), env.get("cuda_version")))
print("energy sources: %s" % [(s["domain"]["kind"], s["domain"]["index"], s["source"]) for s in src])
print("NVML energy counter: %s" % ("supported" if counter else "NOT supported"))
if sys.argv[2] == "gpu" and not counter:
    sys.exit("no GPU with an NVML energy counter found")
PY
}
export LLEM PY OUT mode
export -f config_check
step config 30 bash -c config_check

# ---- 1b. the machine's Python -------------------------------------------
python_check() {
  "$PY" - <<'PY'
import importlib
for m in ("torch", "transformers", "accelerate", "pynvml", "peft", "bitsandbytes", "torchao"):
    try:
        mod = importlib.import_module(m)
        print("%s %s" % (m, getattr(mod, "__version__", "?")))
    except Exception as exc:
        print("%s: not importable (%s)" % (m, exc))
import torch
print("cuda available: %s, torch cuda %s, devices %d" % (torch.cuda.is_available(), torch.version.cuda, torch.cuda.device_count()))
if torch.cuda.is_available():
    print("device 0: %s" % torch.cuda.get_device_name(0))
PY
}
export -f python_check
if [ "$mode" = gpu ]; then step python 60 bash -c python_check; else skip python "rehearsal: no torch"; fi

# ---- study files ----------------------------------------------------------
# The GPU study is written in both modes: a rehearsal dry-runs it, so a
# configuration rule that would refuse it shows here, not on the GPU machine.
# n per batch size: at least ~10 s of decoding each (1B model, bf16,
# 128 output tokens; transformers' generate takes ~10-20 ms a step).
cat >"$WORK/gpu-study.yaml" <<'YAML'
name: gpu-check-pytorch
model: llama-3.2-1b
backend: pytorch
precision: bf16
pytorch: {random_init: true}
dataset: {name: synthetic, input_len: 128, output_len: 128}
baseline: {duration_seconds: 5}
warmup: {n_warmup: 1, thermal_floor_seconds: 30}
sweep:
  batching:
    - {pytorch.batch_size: 1, n: 10}
    - {pytorch.batch_size: 8, n: 64}
    - {pytorch.batch_size: 32, n: 256}
execution: {n_cycles: 1, cycle_order: sequential, config_gap_seconds: 0, cycle_gap_seconds: 0}
YAML
if [ "$mode" = gpu ]; then
  cp "$WORK/gpu-study.yaml" "$WORK/study.yaml"
else
  # The same shape of study on the native engine, small enough for CI.
  cat >"$WORK/study.yaml" <<'YAML'
name: gpu-check-rehearsal
model: tiny
backend: native
dataset: {name: synthetic, input_len: 16, output_len: 16}
baseline: {duration_seconds: 5}
warmup: {enabled: false}
sweep:
  batching:
    - {native.batch_size: 1, n: 2}
    - {native.batch_size: 8, n: 8}
    - {native.batch_size: 32, n: 32}
execution: {n_cycles: 1, cycle_order: sequential, config_gap_seconds: 0, cycle_gap_seconds: 0}
YAML
fi
cat >"$WORK/cpu.yaml" <<YAML
name: gpu-check-native-cpu
model: $([ "$mode" = gpu ] && echo stories110M || echo tiny)
backend: native
n: 16
native: {batch_size: 8}
dataset: {name: synthetic, input_len: 64, output_len: 64}
baseline: {duration_seconds: 5}
warmup: {enabled: false}
YAML

# The gpu: settings study; its values come from the card (gpuknobs_probe),
# placeholders in a rehearsal.
knobs_yaml() { # DEFAULT_W MIN_W SM_MHZ
  cat <<YAML
name: gpu-check-gpuknobs
model: llama-3.2-1b
backend: pytorch
precision: bf16
pytorch: {random_init: true, batch_size: 8}
n: 16
dataset: {name: synthetic, input_len: 128, output_len: 64}
baseline: {duration_seconds: 5}
warmup: {enabled: false}
sweep:
  knobs:
    - {gpu.power_limit_watts: $1}
    - {gpu.power_limit_watts: $2}
    - {gpu.sm_clock_mhz: $3}
execution: {n_cycles: 1, cycle_order: sequential, config_gap_seconds: 0, cycle_gap_seconds: 0}
YAML
}

if [ "$mode" = rehearsal ]; then
  step gpu-study 30 "$LLEM" run "$WORK/gpu-study.yaml" --dry-run
  knobs_yaml 700 200 1500 >"$WORK/gpuknobs.yaml"
  step gpuknobs-dryrun 30 "$LLEM" run "$WORK/gpuknobs.yaml" --dry-run
fi

# ---- 2. independent power log -------------------------------------------
logger_pid=
if [ "$mode" = gpu ]; then
  say "powerlog: start"
  "$PY" scripts/gpu-check-power.py "$OUT/power.jsonl" 10 >>"$LOG" 2>&1 &
  logger_pid=$!
  sleep 1
  if kill -0 "$logger_pid" 2>/dev/null; then
    printf 'powerlog\tok (pid %s)\t0\n' "$logger_pid" >>"$STEPS"
    say "powerlog: running as pid $logger_pid"
  else
    wait "$logger_pid"; printf 'powerlog\tfailed (exit %s)\t0\n' "$?" >>"$STEPS"
    say "powerlog: failed"; logger_pid=
  fi
else
  skip powerlog "rehearsal: no GPU"
fi

# ---- 3. the study ---------------------------------------------------------
# Kept for after the study: cpu 30 s, report 15 s, summary and archive 10 s.
# Expected on the H200: ~80 s a run (imports and random init ~25 s, 5 s
# baseline, 30 s thermal floor, ~15 s measured), ~250 s in all.
# Kept also for the gpu: settings (gpuknobs, ~35 s a run) on the GPU.
knobs_s=0
if [ "$mode" = gpu ]; then knobs_s=120; fi
study_limit=$(( $(left) - 55 - knobs_s ))
export LLEM_PYTORCH_PYTHON="$PY"
step study "$study_limit" "$LLEM" run "$WORK/study.yaml" --output "$WORK/study"
if [ -n "$logger_pid" ]; then
  kill -TERM "$logger_pid" 2>/dev/null
  wait "$logger_pid"
  say "powerlog: stopped pid $logger_pid (exit $?), $(wc -l <"$OUT/power.jsonl") lines"
fi
study_dir=$(ls -d "$WORK"/study/*/ 2>/dev/null | head -n 1)

# ---- 4. native run on the CPU cores -----------------------------------------
step cpu 30 "$LLEM" run "$WORK/cpu.yaml" --output "$WORK/cpu"

# ---- 4b. gpu: settings (power limit, locked SM clock) --------------------------
# gpuknobs_probe reads the card's power limits and a middle supported SM
# clock with pynvml, and whether this process may change them (the current
# limit written back, as llem's pre-flight does): exit 3 without root.
gpuknobs_probe() {
  "$PY" - "$WORK/gpuknobs.env" <<'PY'
import sys, pynvml
pynvml.nvmlInit()
h = pynvml.nvmlDeviceGetHandleByIndex(0)
lo, hi = pynvml.nvmlDeviceGetPowerManagementLimitConstraints(h)
default = pynvml.nvmlDeviceGetPowerManagementDefaultLimit(h)
cur = pynvml.nvmlDeviceGetPowerManagementLimit(h)
print("power limit %.0f W (default %.0f W, allowed %.0f-%.0f W)" % (cur / 1000, default / 1000, lo / 1000, hi / 1000))
try:
    pynvml.nvmlDeviceSetPowerManagementLimit(h, cur)
except pynvml.NVMLError as e:
    print("cannot change GPU settings: %s" % e)
    sys.exit(3 if e.value == pynvml.NVML_ERROR_NO_PERMISSION else 1)
mem = max(pynvml.nvmlDeviceGetSupportedMemoryClocks(h))
gfx = sorted(pynvml.nvmlDeviceGetSupportedGraphicsClocks(h, mem))
mid = gfx[len(gfx) // 2]
print("SM clocks supported at memory %d MHz: %d-%d MHz (%d), middle %d MHz" % (mem, gfx[0], gfx[-1], len(gfx), mid))
with open(sys.argv[1], "w") as f:
    f.write("KNOBS_DEFAULT_W=%d\nKNOBS_MIN_W=%d\nKNOBS_SM_MHZ=%d\nKNOBS_BEFORE_MW=%d\n" % (default // 1000, -(-lo // 1000), mid, cur))
PY
}
# gpuknobs_restored checks the power limit is back at its value before the
# step, and shows what each run read back (effective.gpu) and measured.
gpuknobs_restored() {
  "$PY" - "$KNOBS_BEFORE_MW" "$WORK/gpuknobs" <<'PY'
import glob, json, sys, pynvml
before = int(sys.argv[1])
for path in sorted(glob.glob(sys.argv[2] + "/*/run-*/result.json")):
    r = json.load(open(path))
    e = r.get("energy", {})
    print("%s: gpu %s, effective %s, %.4g J/output token, %.4g W average" % (
        path.split("/")[-2], r["config"].get("gpu"), (r.get("effective") or {}).get("gpu"),
        e.get("energy_per_output_token_j") or 0, e.get("avg_power_w") or 0))
pynvml.nvmlInit()
h = pynvml.nvmlDeviceGetHandleByIndex(0)
now = pynvml.nvmlDeviceGetPowerManagementLimit(h)
print("power limit after the step %.0f W, before %.0f W; SM clock now %d MHz" % (
    now / 1000, before / 1000, pynvml.nvmlDeviceGetClockInfo(h, pynvml.NVML_CLOCK_SM)))
if now != before:
    sys.exit("the power limit was not put back")
PY
}
export WORK
export -f gpuknobs_probe gpuknobs_restored
if [ "$mode" = gpu ]; then
  say "gpuknobs-probe: start"
  timeout 60 bash -c gpuknobs_probe 2>&1 | tee -a "$LOG"
  probe_rc=${PIPESTATUS[0]}
  if [ "$probe_rc" = 0 ] && [ -s "$WORK/gpuknobs.env" ]; then
    # shellcheck disable=SC1091
    . "$WORK/gpuknobs.env"
    export KNOBS_BEFORE_MW
    knobs_yaml "$KNOBS_DEFAULT_W" "$KNOBS_MIN_W" "$KNOBS_SM_MHZ" >"$WORK/gpuknobs.yaml"
    cat "$WORK/gpuknobs.yaml" >>"$LOG"
    step gpuknobs $((knobs_s - 10)) "$LLEM" run "$WORK/gpuknobs.yaml" --output "$WORK/gpuknobs"
    step gpuknobs-restored 15 bash -c gpuknobs_restored
  elif [ "$probe_rc" = 3 ]; then
    skip gpuknobs "not root: NVML refused to change GPU settings (ERROR_NO_PERMISSION)"
  else
    skip gpuknobs "pynvml could not read the card's limits (exit $probe_rc, see the log)"
  fi
else
  skip gpuknobs "rehearsal: no GPU"
fi

# ---- 5. report --------------------------------------------------------------
report() {
  "$LLEM" report "$study_dir" --format md --out "$OUT/report.md" && "$LLEM" report "$study_dir"
}
export study_dir
export -f report
if [ -n "$study_dir" ]; then step report 15 bash -c report; else skip report "no study folder"; fi

# ---- 6. summary ---------------------------------------------------------------
# Results travel as one archive: $OUT takes at most 8 files of 16 MiB.
knobs_dir=()
if [ -d "$WORK/gpuknobs" ]; then knobs_dir=(gpuknobs); fi
tar -czf "$OUT/results.tar.gz" -C "$WORK" study cpu "${knobs_dir[@]}" 2>>"$LOG"
if [ "$(stat -c %s "$OUT/results.tar.gz" 2>/dev/null || echo 0)" -gt 15000000 ]; then
  tar -czf "$OUT/results.tar.gz" -C "$WORK" --exclude=timeseries.parquet study cpu "${knobs_dir[@]}" 2>>"$LOG"
  say "results.tar.gz over 15 MB: time series left out"
fi
power_arg=()
if [ -s "$OUT/power.jsonl" ]; then power_arg=(--power "$OUT/power.jsonl"); fi
"$PY" scripts/gpu-check-summary.py --mode "$mode" --out "$OUT/gpu-check.md" --json "$OUT/gpu-check.json" \
  --steps "$STEPS" --config "$OUT/config.json" --log "$LOG" "${power_arg[@]}" "$WORK/study" "$WORK/cpu" 2>&1 | tee -a "$LOG"
rc=${PIPESTATUS[0]}
cat "$OUT/gpu-check.md" 2>/dev/null
say "done in ${SECONDS}s: $OUT"
rm -rf "$WORK"
exit "$rc"
