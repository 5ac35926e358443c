#!/usr/bin/env python3
"""An independent GPU power and energy log for scripts/gpu-check.sh.

Reads every GPU's power (nvmlDeviceGetPowerUsage, mW) and total-energy
counter (nvmlDeviceGetTotalEnergyConsumption, mJ) through pynvml at a fixed
rate and writes one JSON line per GPU per sample:

    {"t": <unix seconds>, "gpu": 0, "power_w": 412.3, "energy_j": 123456.789,
     "power_instant_w": 415.0}

power_w is nvmlDeviceGetPowerUsage, which recent drivers average over a
window on some GPUs; power_instant_w (NVML_FI_DEV_POWER_INSTANT, where the
binding and driver have it) is the instantaneous reading.

It shares nothing with llem (another process, another NVML binding), so
llem's counter and integrated energies can be checked against it over the
same window. It stops on SIGTERM or SIGINT and writes a last line with its
own CPU time, the overhead of sampling at this rate:

    {"end": true, "samples": N, "wall_s": W, "cpu_s": C}

Usage: gpu-check-power.py OUT.jsonl [HZ]
"""

import json
import os
import resource
import signal
import sys
import time


def main(argv):
    if len(argv) < 2:
        sys.stderr.write("usage: gpu-check-power.py OUT.jsonl [HZ]\n")
        return 2
    path = argv[1]
    hz = float(argv[2]) if len(argv) > 2 else 10.0
    import pynvml  # nvidia-ml-py

    pynvml.nvmlInit()
    handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    instant = getattr(pynvml, "NVML_FI_DEV_POWER_INSTANT", None)
    period = 1.0 / hz
    samples = 0
    t0 = time.time()
    with open(path, "w") as f:
        nxt = time.monotonic()
        while not stop:
            t = time.time()
            for i, h in enumerate(handles):
                rec = {"t": t, "gpu": i}
                try:
                    rec["power_w"] = pynvml.nvmlDeviceGetPowerUsage(h) / 1000.0
                except pynvml.NVMLError as exc:
                    rec["power_error"] = str(exc)
                try:
                    rec["energy_j"] = pynvml.nvmlDeviceGetTotalEnergyConsumption(h) / 1000.0
                except pynvml.NVMLError as exc:
                    rec["energy_error"] = str(exc)
                if instant is not None:
                    w = instant_power(pynvml, h, instant)
                    if w is not None:
                        rec["power_instant_w"] = w
                f.write(json.dumps(rec) + "\n")
            f.flush()
            samples += 1
            nxt += period
            delay = nxt - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                nxt = time.monotonic()
        ru = resource.getrusage(resource.RUSAGE_SELF)
        f.write(json.dumps({"end": True, "samples": samples, "hz": hz, "wall_s": time.time() - t0,
                            "cpu_s": ru.ru_utime + ru.ru_stime, "pid": os.getpid()}) + "\n")
    pynvml.nvmlShutdown()
    return 0


def instant_power(pynvml, handle, field):
    """NVML_FI_DEV_POWER_INSTANT in watts, or None where it is not read."""
    try:
        v = pynvml.nvmlDeviceGetFieldValues(handle, [field])[0]
        if v.nvmlReturn != 0:
            return None
        return v.value.uiVal / 1000.0
    except Exception:  # noqa: BLE001 - old bindings or drivers without the field
        return None


if __name__ == "__main__":
    sys.exit(main(sys.argv))
