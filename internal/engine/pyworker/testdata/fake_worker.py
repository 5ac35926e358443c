"""A test worker: llem's real protocol module with fake compute.

Tokens are whitespace-separated words; each output token takes
`fake_token_seconds` (default 1 ms). Failure modes are chosen through the
load request's passthrough_kwargs, so the Go tests can drive each one:
  fake_crash_on_generate: exit with status 3 in the middle of a generate
  fake_malformed: answer generate with a line that is not JSON
  fake_sleep_seconds: sleep this long in generate (timeouts)
  fake_raise: raise ValueError(message) from a nested call in generate
  fake_print: print() to stdout during generate (must not reach the protocol)
"""

import hashlib
import json
import os
import sys
import time

import llem_protocol as proto


class FakeWorker:
    backend = "fake"
    modules = ["json"]

    def __init__(self):
        self.opts = {}
        self.model = None
        self.server = None

    def load(self, body):
        t0 = time.perf_counter()
        self.opts = body.get("passthrough_kwargs") or {}
        self.model = body.get("model")
        sys.stderr.write("fake worker loading %s\n" % body.get("model"))
        return {
            "load_seconds": time.perf_counter() - t0,
            "parameters": 1234,
            "weights": "random_init" if body.get("random_init") else "hf",
            "device": "cpu",
            "exact_output_length": True,
            "effective": {"precision": body.get("precision"), "options": body.get("options") or {},
                          "model_sent": body.get("model"),
                          "model_config_exists": os.path.isfile(os.path.join(body.get("model") or "", "config.json")),
                          # Everything the worker was asked to load, so a
                          # test can see that a setting reached it.
                          "load_request": body},
            "warnings": ["fake worker: no real compute"],
        }

    def generate(self, body):
        opts = self.opts
        if opts.get("fake_print"):
            print("noise that must not reach the protocol stream")
            os.write(1, b"raw fd 1 noise\n")
        if opts.get("fake_crash_on_generate"):
            sys.stderr.write("fake worker: CUDA error: an illegal memory access was encountered\n")
            sys.stderr.flush()
            os._exit(3)
        if opts.get("fake_malformed"):
            self.server.send_raw("this is not json {")
            return []
        if opts.get("fake_sleep_seconds"):
            time.sleep(float(opts["fake_sleep_seconds"]))
        if opts.get("fake_raise"):
            nested_failure(opts["fake_raise"])
        params = body.get("params") or {}
        step = float(opts.get("fake_token_seconds", 0.001))
        out = []
        for p in body.get("prompts") or []:
            start = time.perf_counter()
            n_in = len(p.get("tokens") or []) or len((p.get("text") or "").split())
            n_out = p.get("max_new_tokens") or params.get("max_new_tokens") or 1
            times = []
            for _ in range(n_out):
                time.sleep(step)
                times.append(time.perf_counter())
            out.append({
                "prompt_id": p.get("id", ""),
                "prompt_tokens": n_in,
                "output_tokens": n_out,
                "text": " ".join(["tok"] * n_out),
                "token_ids": fake_ids(self.model, params, p, n_out),
                "start": start,
                "token_times": times,
                "end": time.perf_counter(),
                "finish_reason": "length",
            })
        return out


def fake_ids(model, params, prompt, n):
    """Ids that depend on the model, the decoding parameters and the prompt,
    as a real model's would, so a setting that reaches the worker changes
    them."""
    seed = json.dumps([model, params, prompt.get("id"), prompt.get("text"), prompt.get("tokens")], sort_keys=True)
    digest = hashlib.sha256(seed.encode()).digest()
    return [digest[i % len(digest)] + 256 * (i // len(digest)) for i in range(n)]


def nested_failure(message):
    raise ValueError(message)


if __name__ == "__main__":
    worker = FakeWorker()
    server = proto.Server(worker)
    worker.server = server
    sys.exit(server.run())
