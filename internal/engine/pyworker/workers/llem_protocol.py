"""llem's worker protocol: JSON lines over the worker's stdin and stdout.

Every llem worker (pytorch, vllm, tensorrt, and the test worker) imports this
module and calls serve() with a handler, so the protocol lives in one place.

Requests, one JSON object per line on stdin:
    {"id": 1, "op": "hello" | "load" | "generate" | "shutdown", "body": {...}}
Replies, one JSON object per line on the protocol stream:
    {"id": 1, "ok": true, "body": {...}}
    {"id": 1, "ok": false, "error": {"type": "...", "message": "...", "traceback": "..."}}

The protocol stream is the process's original stdout. serve() moves it to a
private file descriptor and points fd 1 (and sys.stdout) at stderr, so a
print() in a library or a C extension writing to stdout cannot corrupt the
protocol: it lands in the worker's log instead.

Handlers report times as absolute time.perf_counter() values; this module
turns them into offsets (seconds) from the moment the request was received
(for each request's start) and from each request's start (for token times and
the end), which is what the Go side expects.

Run as a script (`python3 llem_protocol.py probe MODULE...`) it prints one
JSON object describing the environment, for llem's pre-flight checks.
"""

import importlib
import json
import os
import platform
import sys
import time
import traceback

PROTOCOL_VERSION = 1


def module_version(name):
    """Return (version, error) for an importable module without importing it
    when package metadata is enough."""
    try:
        from importlib import metadata
        dist = {"tensorrt_llm": "tensorrt_llm", "torch": "torch"}.get(name, name)
        return metadata.version(dist), None
    except Exception:  # noqa: BLE001 - metadata lookups fail in many ways
        pass
    try:
        mod = importlib.import_module(name)
        return str(getattr(mod, "__version__", "unknown")), None
    except Exception as exc:  # noqa: BLE001
        return None, "%s: %s" % (type(exc).__name__, exc)


def environment(modules, import_check=()):
    """Describe the Python environment: versions of python and the given
    modules, and what torch sees of CUDA. Modules in import_check are really
    imported, so a broken install shows up as an error rather than a version."""
    env = {
        "python": platform.python_version(),
        "executable": sys.executable,
        "versions": {"python": platform.python_version()},
        "missing": {},
        "cuda_available": False,
        "cuda": None,
        "gpus": [],
    }
    for name in modules:
        version, err = module_version(name)
        if err is None and name in import_check:
            try:
                importlib.import_module(name)
            except Exception as exc:  # noqa: BLE001
                err = "%s: %s" % (type(exc).__name__, exc)
        if err is None:
            env["versions"][name] = version
        else:
            env["missing"][name] = err
    if "torch" in env["versions"]:
        try:
            import torch
            env["cuda"] = torch.version.cuda
            if env["cuda"]:
                env["versions"]["cuda"] = env["cuda"]
            env["cuda_available"] = bool(torch.cuda.is_available())
            if env["cuda_available"]:
                env["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        except Exception as exc:  # noqa: BLE001
            env["missing"]["torch"] = "%s: %s" % (type(exc).__name__, exc)
            env["versions"].pop("torch", None)
    return env


def synchronize():
    """Wait for every queued GPU kernel, so a reply means the device is idle."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.synchronize()


def shared_sampling(params):
    """The SamplingParams fields vLLM and TensorRT-LLM name alike:
    repetition penalty, stop strings and seed, when llem's params set them."""
    out = {}
    if params.get("repetition_penalty"):
        out["repetition_penalty"] = params["repetition_penalty"]
    if params.get("stop_sequences"):
        out["stop"] = params["stop_sequences"]
    if params.get("seed") is not None:
        out["seed"] = int(params["seed"])
    return out


class WorkerError(Exception):
    """An error the handler raises on purpose, with a message meant for the user."""


class Server:
    """Reads requests, dispatches them to a handler and writes replies."""

    def __init__(self, handler, stdin=None, proto_out=None):
        self.handler = handler
        self.stdin = stdin if stdin is not None else sys.stdin
        if proto_out is None:
            proto_fd = os.dup(1)
            os.dup2(2, 1)
            sys.stdout = sys.stderr
            proto_out = os.fdopen(proto_fd, "w", buffering=1, encoding="utf-8")
        self.out = proto_out

    def send(self, message):
        self.out.write(json.dumps(message, separators=(",", ":")) + "\n")
        self.out.flush()

    def send_raw(self, line):
        """Write a raw line on the protocol stream. Only the test worker uses
        it, to check how llem handles a malformed line."""
        self.out.write(line + "\n")
        self.out.flush()

    def run(self):
        for line in self.stdin:
            line = line.strip()
            if not line:
                continue
            try:
                req = json.loads(line)
            except ValueError as exc:
                self.send({"id": 0, "ok": False, "error": {
                    "type": "ProtocolError",
                    "message": "request is not JSON: %s: %r" % (exc, line[:200]),
                    "traceback": ""}})
                continue
            if self.dispatch(req):
                return 0
        # stdin closed: llem went away; leave quietly.
        self.close()
        return 0

    def dispatch(self, req):
        """Handle one request; return True when the worker should exit."""
        rid = req.get("id", 0)
        op = req.get("op")
        body = req.get("body") or {}
        received = time.perf_counter()
        try:
            if op == "hello":
                reply = self.hello(body)
            elif op == "load":
                reply = self.handler.load(body)
            elif op == "generate":
                reply = self.generate(body, received)
            elif op == "shutdown":
                self.close()
                self.send({"id": rid, "ok": True, "body": {}})
                return True
            else:
                raise WorkerError("unknown op %r" % (op,))
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to llem
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            self.send({"id": rid, "ok": False, "error": {
                "type": type(exc).__name__,
                "message": str(exc),
                "traceback": traceback.format_exc()}})
            return False
        self.send({"id": rid, "ok": True, "body": reply})
        return False

    def hello(self, body):
        want = body.get("protocol")
        if want != PROTOCOL_VERSION:
            raise WorkerError("llem speaks protocol %r, this worker speaks %d: the worker "
                              "scripts and the llem binary are from different versions" % (want, PROTOCOL_VERSION))
        env = environment(self.handler.modules, getattr(self.handler, "import_check", ()))
        env["protocol"] = PROTOCOL_VERSION
        env["backend"] = self.handler.backend
        env["pid"] = os.getpid()
        return env

    def generate(self, body, received):
        completions = self.handler.generate(body)
        synchronize()
        out = []
        for c in completions:
            start = c.pop("start")
            c["start_s"] = max(0.0, start - received)
            c["token_times_s"] = [t - start for t in c.pop("token_times", [])]
            c["end_s"] = c.pop("end") - start
            out.append(c)
        return {"completions": out}

    def close(self):
        close = getattr(self.handler, "close", None)
        if close is not None:
            close()


def serve(handler):
    """Serve the protocol on stdin/stdout until shutdown or end of input."""
    return Server(handler).run()


def _probe(argv):
    modules = argv[1:]
    env = environment(modules, import_check=tuple(modules))
    env["protocol"] = PROTOCOL_VERSION
    sys.stdout.write(json.dumps(env) + "\n")
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "probe":
        sys.exit(_probe(sys.argv[1:]))
    sys.stderr.write("usage: llem_protocol.py probe MODULE...\n")
    sys.exit(2)
