"""Finding the llem binary and running it; its failures become exceptions."""

import os
import shutil
import subprocess
from pathlib import Path

# The CLI's exit codes (README: 0 all ran, 1 some runs failed, 2 bad input,
# 130 interrupted).
EXIT_RUNS_FAILED = 1
EXIT_BAD_INPUT = 2


class LlemError(Exception):
    """The llem binary failed: message is what it printed on stderr (without
    its "llem: " prefix and hints), exit_code its exit status."""

    def __init__(self, message, exit_code=None, args=None, stderr=""):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.cmd = list(args or [])
        self.stderr = stderr

    def __str__(self):
        if self.exit_code is None:
            return self.message
        return f"{self.message} (llem exit {self.exit_code})"


class BadInputError(LlemError):
    """llem refused its input before running anything (exit 2): a bad field,
    an unknown flag, a missing file, a setting that would not take effect."""


class RunsFailedError(LlemError):
    """The study ran but some runs failed (exit 1); .study holds the study,
    whose runs() shows which failed and why."""

    def __init__(self, message, exit_code=None, args=None, stderr="", study=None):
        super().__init__(message, exit_code, args, stderr)
        self.study = study


def binary():
    """The path of the llem binary: $LLEM_BINARY if set, else the one this
    package's wheel carries (llem/bin/llem), else `llem` on PATH that is not
    this package's own console script."""
    env = os.environ.get("LLEM_BINARY")
    if env:
        return env
    bundled = Path(__file__).parent / "bin" / "llem"
    if bundled.is_file():
        return str(bundled)
    found = shutil.which("llem")
    if found and not _is_console_script(found):
        return found
    raise LlemError(
        "no llem binary: this llem package carries none (a wheel built without "
        "LLEM_BINARY?) and there is none on PATH; set LLEM_BINARY to one"
    )


def _is_console_script(path):
    # The wheel's `llem` console script is Python that execs the binary;
    # taking it for the binary would recurse.
    try:
        with open(path, "rb") as f:
            return f.read(2) == b"#!"
    except OSError:
        return False


def call(args, cwd=None):
    """Runs llem with args and returns its stdout; raises LlemError (or
    BadInputError for exit 2) with the binary's own message otherwise."""
    cmd = [binary(), *args]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise error_from(proc.returncode, proc.stderr, cmd)
    return proc.stdout


def error_from(code, stderr, cmd, cls=None):
    """The exception for exit status code and what llem printed on stderr."""
    if cls is None:
        cls = BadInputError if code == EXIT_BAD_INPUT else LlemError
    return cls(_message(stderr, code), code, cmd, stderr)


def _message(stderr, code):
    # llem prints errors as "llem: <message>", then "hint: ..." lines.
    lines = [l for l in stderr.splitlines() if l.strip()]
    errors = [l[len("llem: "):] for l in lines if l.startswith("llem: ")]
    if errors:
        return "\n".join(errors)
    if lines:
        return lines[-1]
    return f"llem exited with status {code} and printed nothing on stderr"
