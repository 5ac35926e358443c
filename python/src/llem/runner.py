"""llem.run: a study file or dict, run by the llem binary."""

import json
import signal
import subprocess
import tempfile
from pathlib import Path

from . import _binary
from .study import Study

# Flags run() sets itself or that would make `llem run` print no result.
_RESERVED = {"json", "quiet", "q", "verbose", "v", "dry_run", "help", "resume"}
# Overrides whose flag is not --<name with dashes>.
_FLAG_NAMES = {"n": "--prompts", "output": "--output"}


def run(config, *, cwd=None, **overrides):
    """Runs an experiment or a study and returns its Study.

    config is a path to a study or experiment file, or a dict with the same
    fields (written to a temporary file; relative paths inside a dict resolve
    against that file's folder, so give absolute ones). Each override is a
    `llem run` flag: n, model, backend, dataset, batch_size, precision,
    cycles, order, no_gaps, fail_fast, timeout, output, ... (underscores for
    dashes; True for a switch, False or None leaves it out); the binary
    checks them, an unknown one raises BadInputError.

    Without `output` the results go to the results folder llem's user
    configuration names (./results by default), asked of the binary.
    """
    cwd = Path(cwd) if cwd is not None else Path.cwd()
    with tempfile.TemporaryDirectory(prefix="llem-") as tmp:
        if isinstance(config, dict):
            path = _write_config(config, Path(tmp))
        else:
            path = Path(config)
        output = overrides.pop("output", None) or _results_dir(cwd)
        output = cwd / output
        args = ["run", str(path), "--json", "--output", str(output), *_flags(overrides)]
        code, stdout, stderr, cmd = _run_binary(args, cwd)
    summary = _parse(stdout)
    study = None
    if summary is not None and summary.get("study_dir"):
        # `llem run --json` prints {"kind", "study_dir", "result"} for a
        # single experiment and a study alike.
        study = Study(cwd / summary["study_dir"])
    if code == 0 and study is not None:
        return study
    if code == 0:
        raise _binary.LlemError(f"llem run printed no result JSON: {stdout[:200]!r}", code, cmd, stderr)
    if code == _binary.EXIT_RUNS_FAILED:
        err = _binary.error_from(code, stderr, cmd, _binary.RunsFailedError)
        err.study = study
        raise err
    raise _binary.error_from(code, stderr, cmd)


def _write_config(config, folder):
    # JSON is YAML; the file's stem names a single experiment's folder.
    is_study = "sweep" in config or "experiments" in config
    stem = config.get("name") if is_study and config.get("name") else ("study" if is_study else "experiment")
    path = folder / f"{stem}.yaml"
    path.write_text(json.dumps(config, indent=2, default=str), encoding="utf-8")  # default=str: Path values
    return path


def _results_dir(cwd):
    # `llem config --json` prints {kind: machine, study_dir, result}.
    report = json.loads(_binary.call(["config", "--json"], cwd=cwd))["result"]
    for entry in report.get("user_config", []):
        if entry.get("key") == "results_dir" and entry.get("value"):
            return entry["value"]
    return "results"


def _flags(overrides):
    flags = []
    for name, value in overrides.items():
        if name in _RESERVED:
            raise ValueError(f"llem.run sets or cannot use --{name.replace('_', '-')} itself")
        flag = _FLAG_NAMES.get(name, "--" + name.replace("_", "-"))
        if value is None or value is False:
            continue
        if value is True:
            flags.append(flag)
        else:
            flags.append(f"{flag}={value}")
    return flags


def _run_binary(args, cwd):
    cmd = [_binary.binary(), *args]
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = proc.communicate()
    except KeyboardInterrupt:
        # Ctrl-C: let llem stop its runs and write its manifest (exit 130),
        # as it does at a terminal, rather than killing it.
        proc.send_signal(signal.SIGINT)
        proc.wait()
        raise
    return proc.returncode, stdout, stderr, cmd


def _parse(stdout):
    try:
        return json.loads(stdout) if stdout.strip() else None
    except ValueError:
        return None
