#!/usr/bin/env python3
"""Builds gpu-check.md (and gpu-check.json) for scripts/gpu-check.sh.

Reads llem's `config --json` output, every result.json under the given
result folders, the independent pynvml log (gpu-check-power.py) when there
is one, and the script's step table. Standard library only, so the
rehearsal runs wherever python3 does.

For each run it compares llem's GPU energy with the independent log over the
same window. llem measures each batch in its own energy window; the result
keeps their sum (energy.duration_s) and the span from the first batch's start
to the last one's end (steady_state_window, seconds from started_at). The log
is read over the span and scaled by duration_s / span, so the few
milliseconds between batches that llem does not count are not held against
it (the table shows that coverage).

Usage: gpu-check-summary.py --out OUT.md --json OUT.json --steps STEPS.tsv
       [--config CONFIG.json] [--power POWER.jsonl] [--mode gpu|rehearsal]
       [--log LOG] RESULTS_DIR...
"""

import argparse
import datetime
import glob
import json
import os
import sys

COUNTER_GOAL = 0.02
INTEGRATED_GOAL = 0.05


def parse_time(s):
    """RFC 3339 with up to nanoseconds (Go's time.Time) to unix seconds."""
    if not s:
        return None
    s = s.replace("Z", "+00:00")
    frac = ""
    if "." in s:
        head, rest = s.split(".", 1)
        i = 0
        while i < len(rest) and rest[i].isdigit():
            i += 1
        frac, tz = rest[:i], rest[i:]
        s = head + tz
    t = datetime.datetime.fromisoformat(s).timestamp()
    return t + (float("0." + frac) if frac else 0.0)


def read_power(path):
    """Per-GPU samples [(t, power_w, energy_j)] and the logger's end line."""
    per_gpu, end = {}, None
    if not path or not os.path.exists(path):
        return per_gpu, end
    with open(path) as f:
        for line in f:
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # a line cut short when the logger was killed
            if rec.get("end"):
                end = rec
                continue
            per_gpu.setdefault(rec.get("gpu", 0), []).append(
                (rec["t"], rec.get("power_w"), rec.get("energy_j"), rec.get("power_instant_w")))
    return per_gpu, end


def interpolate(samples, t, k):
    """Linear interpolation of column k at time t; None outside the log."""
    pts = [(s[0], s[k]) for s in samples if s[k] is not None]
    if not pts or t < pts[0][0] or t > pts[-1][0]:
        return None
    for (t0, v0), (t1, v1) in zip(pts, pts[1:]):
        if t0 <= t <= t1:
            return v0 if t1 == t0 else v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    return pts[-1][1]


def counter_delta(samples, a, b):
    """Energy-counter difference between times a and b (joules)."""
    ea, eb = interpolate(samples, a, 2), interpolate(samples, b, 2)
    return None if ea is None or eb is None else eb - ea


def power_integral(samples, a, b, k=1):
    """Trapezoid integral of power (column k) over [a, b], interpolated at
    the edges."""
    pts = [(s[0], s[k]) for s in samples if s[k] is not None]
    if not pts or a < pts[0][0] or b > pts[-1][0] or b <= a:
        return None
    inner = [(t, p) for t, p in pts if a < t < b]
    edge = [(a, interpolate(samples, a, k))] + inner + [(b, interpolate(samples, b, k))]
    return sum((t1 - t0) * (p0 + p1) / 2 for (t0, p0), (t1, p1) in zip(edge, edge[1:]))


def rel(x, ref):
    if x is None or ref is None or ref == 0:
        return None
    return (x - ref) / ref


def fmt(v, spec="%.1f"):
    return "—" if v is None else spec % v


def pct(v):
    return "—" if v is None else "%+.2f %%" % (100 * v)


def load_results(dirs):
    out = []
    for d in dirs:
        for path in sorted(glob.glob(os.path.join(d, "**", "result.json"), recursive=True)):
            with open(path) as f:
                try:
                    r = json.load(f)
                except ValueError as exc:
                    sys.stderr.write("skip %s: %s\n" % (path, exc))
                    continue
            r["_path"] = path
            out.append(r)
    return out


def run_name(r):
    return os.path.basename(os.path.dirname(r["_path"]))


def analyse(r, power):
    """One run's figures: llem's per domain, and the log's over its window."""
    cfg = r.get("config") or {}
    energy = r.get("energy") or {}
    tp = r.get("throughput") or {}
    win = r.get("steady_state_window") or {}
    start = parse_time(r.get("started_at"))
    row = {
        "run": run_name(r),
        "backend": cfg.get("backend"),
        "model": cfg.get("model"),
        "batch_size": tp.get("batch_size"),
        "output_tokens": tp.get("output_tokens"),
        "output_tokens_per_s": tp.get("output_tokens_per_s"),
        "energy_source": energy.get("source"),
        "estimated": energy.get("estimated"),
        "energy_j": energy.get("energy_total_j"),
        "j_per_output_token": energy.get("energy_per_output_token_j"),
        "duration_s": energy.get("duration_s"),
        "window_start_unix": None,
        "window_end_unix": None,
        "domains": [],
        "warnings": r.get("measurement_warnings") or [],
    }
    span = None
    if start is not None and "start_s" in win and "end_s" in win:
        row["window_start_unix"] = start + win["start_s"]
        row["window_end_unix"] = start + win["end_s"]
        span = win["end_s"] - win["start_s"]
    row["window_s"] = span
    cover = None
    if span and row["duration_s"]:
        cover = min(1.0, row["duration_s"] / span)
    row["coverage"] = cover
    for d in energy.get("domains") or []:
        dom = {"kind": d.get("kind"), "index": d.get("index"), "source": d.get("source"),
               "energy_j": d.get("energy_j"), "counter_j": d.get("counter_j"), "integrated_j": d.get("integrated_j")}
        samples = power.get(d.get("index", 0)) if d.get("kind") == "gpu" else None
        if samples and row["window_start_unix"] is not None and cover:
            a, b = row["window_start_unix"], row["window_end_unix"]
            lc, lp, li = counter_delta(samples, a, b), power_integral(samples, a, b), power_integral(samples, a, b, 3)
            dom["log_counter_j"] = None if lc is None else lc * cover
            dom["log_power_j"] = None if lp is None else lp * cover
            dom["log_instant_power_j"] = None if li is None else li * cover
            dom["counter_vs_log"] = rel(dom["counter_j"], dom["log_counter_j"])
            dom["integrated_vs_log"] = rel(dom["integrated_j"], dom["log_counter_j"])
            dom["log_power_vs_log_counter"] = rel(dom["log_power_j"], dom["log_counter_j"])
            dom["log_instant_vs_log_counter"] = rel(dom["log_instant_power_j"], dom["log_counter_j"])
        row["domains"].append(dom)
    return row


def render(args, conf, rows, steps, power_end, log_warnings):
    env = ((conf or {}).get("machine") or {}).get("environment") or {}
    sources = ((conf or {}).get("machine") or {}).get("energy_sources") or []
    gpus = env.get("gpus") or []
    lines = ["# llem gpu-check (%s)" % args.mode, ""]
    lines.append("- date: %s" % datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    lines.append("- machine: %s, %s, %s cores / %s threads" % (env.get("hostname", "?"), env.get("cpu_model", "?"),
                                                              env.get("cpu_cores", "?"), env.get("cpu_threads", "?")))
    lines.append("- GPUs: %s" % (", ".join("%d: %s" % (g.get("index", 0), g.get("name", "?")) for g in gpus) or "none found"))
    lines.append("- driver: %s; CUDA: %s" % (env.get("driver_version") or "—", env.get("cuda_version") or "—"))
    lines.append("- energy sources: %s (best: %s)" % (", ".join("%s %s: %s" % ((s.get("domain") or {}).get("kind"),
                 (s.get("domain") or {}).get("index"), s.get("source")) for s in sources) or "—",
                 (conf or {}).get("machine", {}).get("best_source", "—")))
    versions = {}
    for r in args.results_raw:
        versions.update(((r.get("environment") or {}).get("engine_versions")) or {})
    lines.append("- engine versions (from the results): %s" % (", ".join("%s %s" % kv for kv in sorted(versions.items())) or "—"))
    gpu_counter = any((s.get("domain") or {}).get("kind") == "gpu" and s.get("source") == "nvml_energy_counter" for s in sources)
    lines.append("- NVML energy counter: %s" % ("supported" if gpu_counter else "not found"))
    lines += ["", "## Steps", "", "| step | status | seconds |", "|---|---|---|"]
    for s in steps:
        lines.append("| %s | %s | %s |" % (s[0], s[1], s[2] if len(s) > 2 else ""))

    lines += ["", "## Energy: llem against the independent log", ""]
    if power_end is None and not any("log_counter_j" in d for r in rows for d in r["domains"]):
        lines.append("No independent log in this mode (%s): llem's figures only." % args.mode)
        lines.append("")
    lines.append("Goals (reported, not tuned): counter within %d %%, integrated power within %d %% of the log's counter." %
                 (100 * COUNTER_GOAL, 100 * INTEGRATED_GOAL))
    lines.append("Counter Δ and integrated Δ: llem's counter and integrated-power energy against the log's counter. "
                 "Log power Δ and log instant Δ: the log's own integral of nvmlDeviceGetPowerUsage and of the "
                 "instantaneous power field against its counter, how far power integration alone lands on this GPU. "
                 "The log's figures are scaled by coverage (llem's batch windows / the window span).")
    lines += ["", "| run | domain | source | window s | coverage | llem counter J | llem integrated J | log counter J | log power J | counter Δ | integrated Δ | log power Δ | log instant Δ |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        for d in r["domains"]:
            lines.append("| %s | %s %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                r["run"], d["kind"], d["index"], d["source"], fmt(r["window_s"], "%.2f"), fmt(r["coverage"], "%.4f"),
                fmt(d.get("counter_j")), fmt(d.get("integrated_j")), fmt(d.get("log_counter_j")), fmt(d.get("log_power_j")),
                pct(d.get("counter_vs_log")), pct(d.get("integrated_vs_log")), pct(d.get("log_power_vs_log_counter")),
                pct(d.get("log_instant_vs_log_counter"))))
    lines += ["", "## J per output token against batch size", "",
              "| run | backend | model | batch | output tokens | tok/s | energy J | J/output token | source |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["backend"] or "", r["model"] or "", r["batch_size"] or 0)):
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s%s |" % (
            r["run"], r["backend"], r["model"], r["batch_size"], r["output_tokens"], fmt(r["output_tokens_per_s"]),
            fmt(r["energy_j"], "%.2f"), fmt(r["j_per_output_token"], "%.5f"), r["energy_source"],
            " (estimated)" if r["estimated"] else ""))
    lines += ["", "## Sampler overhead", ""]
    intervals = sorted({(x.get("protocol") or {}).get("sampling_interval_seconds") for x in args.results_raw} - {None})
    lines.append("- llem's sampling interval: %s s (its recorder's CPU cost is measured by "
                 "`go test ./internal/energy -bench RecorderOverhead`)" % (", ".join("%g" % i for i in intervals) or "—"))
    if power_end:
        wall = power_end.get("wall_s") or 0
        lines.append("- independent log: %d samples in %.1f s (%.2f Hz achieved of %g), its own CPU %.2f s = %.2f %% of one core" % (
            power_end.get("samples", 0), wall, power_end.get("samples", 0) / wall if wall else 0, power_end.get("hz", 0),
            power_end.get("cpu_s", 0), 100 * power_end.get("cpu_s", 0) / wall if wall else 0))
    else:
        lines.append("- independent log: none")
    lines += ["", "## Warnings", ""]
    n = 0
    for r in rows:
        for w in r["warnings"]:
            lines.append("- %s: `%s` %s" % (r["run"], w.get("code"), w.get("message")))
            n += 1
    for h in ((conf or {}).get("machine") or {}).get("hints") or []:
        lines.append("- config hint: %s" % h)
        n += 1
    for w in log_warnings:
        lines.append("- log: %s" % w)
        n += 1
    if n == 0:
        lines.append("none")
    lines.append("")
    return "\n".join(lines)


def log_warning_lines(path, limit=40):
    if not path or not os.path.exists(path):
        return []
    seen, out = set(), []
    with open(path, errors="replace") as f:
        for line in f:
            s = line.strip()
            low = s.lower()
            # llem's own measurement warnings ("- [code] ...") come from the
            # results; this picks up the rest (pre-flight, Python warnings).
            if s.startswith("- [") or low.rstrip(":") == "warnings" or "ESTIMATED, not measured" in s:
                continue
            if ("warning" in low or "warn " in low) and s not in seen:
                seen.add(s)
                out.append(s[:300])
    return out[:limit]


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--json")
    p.add_argument("--steps")
    p.add_argument("--config")
    p.add_argument("--power")
    p.add_argument("--log")
    p.add_argument("--mode", default="gpu")
    p.add_argument("results", nargs="*")
    args = p.parse_args(argv)
    conf = None
    if args.config and os.path.exists(args.config):
        try:
            with open(args.config) as f:
                conf = json.load(f)
            # `llem config --json` prints {kind: machine, study_dir, result}.
            if isinstance(conf, dict) and conf.get("kind") == "machine":
                conf = conf.get("result")
        except ValueError as exc:
            sys.stderr.write("config %s unreadable: %s\n" % (args.config, exc))
    steps = []
    if args.steps and os.path.exists(args.steps):
        with open(args.steps) as f:
            steps = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    power, power_end = read_power(args.power)
    args.results_raw = load_results(args.results)
    rows = [analyse(r, power) for r in args.results_raw]
    text = render(args, conf, rows, steps, power_end, log_warning_lines(args.log))
    with open(args.out, "w") as f:
        f.write(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"mode": args.mode, "steps": steps, "runs": rows, "power_log_end": power_end}, f, indent=1)
    print("summary: %s (%d runs)" % (args.out, len(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
