"""llem from Python: run a study with the llem binary this package carries,
and read its results as pandas DataFrames.

    import llem
    study = llem.run("study.yaml", n=8, cycles=2, no_gaps=True)
    study.runs()          # one row per run
    study.timeseries()    # power and energy samples (needs pyarrow)
    llem.load("results/native-batch_2026-...")   # an existing study

Errors from the binary raise LlemError (BadInputError for exit 2, bad
input; RunsFailedError for exit 1, some runs failed) with its message.
"""

from ._binary import BadInputError, LlemError, RunsFailedError, binary
from .runner import run
from .study import ParquetUnavailable, Study, load

__all__ = [
    "BadInputError",
    "LlemError",
    "ParquetUnavailable",
    "RunsFailedError",
    "Study",
    "binary",
    "load",
    "run",
]
