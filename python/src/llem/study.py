"""A study folder (or a single experiment's folder) read as pandas tables."""

import io
import json
import os
import tempfile
from pathlib import Path

from ._binary import call

# File names of the on-disk layout; the Go package `results` owns them
# (results/layout.go), these mirror it.
MANIFEST = "manifest.json"
STUDY_RESULT = "study_result.json"
STUDY_CONFIG = "study.json"
RESULT = "result.json"
TIMESERIES = "timeseries.parquet"

# Per-request records: one list per run, kept out of the runs table.
_RESULT_FIELDS_LEFT_OUT = ("requests",)


class ParquetUnavailable(ImportError):
    """timeseries.parquet cannot be read: pandas has no Parquet engine."""


class Study:
    """A study folder written by `llem run` (manifest.json, study_result.json,
    run-*/result.json and timeseries.parquet), or the folder of a single
    experiment (result.json, timeseries.parquet)."""

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.is_dir():
            raise FileNotFoundError(f"{self.path}: no such folder")
        self.is_study = (self.path / MANIFEST).is_file() or (self.path / STUDY_RESULT).is_file()
        if not self.is_study and not (self.path / RESULT).is_file():
            raise FileNotFoundError(
                f"{self.path}: neither a study folder ({MANIFEST}) nor a run folder ({RESULT})"
            )

    def __repr__(self):
        return f"llem.Study({str(self.path)!r})"

    @property
    def result(self):
        """The study's study_result.json (a study still running or interrupted
        may have none: None), or a single experiment's result.json, as a dict."""
        name = STUDY_RESULT if self.is_study else RESULT
        p = self.path / name
        return _read_json(p) if p.is_file() else None

    @property
    def config(self):
        """The resolved study (study.json) or the experiment's configuration."""
        if self.is_study:
            return _read_json(self.path / STUDY_CONFIG)
        return _read_json(self.path / RESULT)["config"]

    def _run_entries(self):
        """One dict per run: run_index, cycle, state, measurement_config_hash,
        run_dir, error fields; from the manifest for a study."""
        if not self.is_study:
            res = _read_json(self.path / RESULT)
            return [{
                "run_index": 0, "cycle": 1, "state": "completed",
                "measurement_config_hash": res.get("measurement_config_hash"),
                "run_dir": str(self.path),
            }]
        manifest = _read_json(self.path / MANIFEST)
        entries = []
        for r in manifest.get("runs", []):
            rp = r.get("result_path")
            entries.append({
                "run_index": r.get("index"),
                "cycle": r.get("cycle"),
                "state": r.get("state"),
                "measurement_config_hash": r.get("measurement_config_hash"),
                "run_dir": str(self.path / os.path.dirname(rp)) if rp else None,
                "error_type": r.get("error_type"),
                "error": r.get("error"),
            })
        return entries

    def _swept(self):
        """measurement_config_hash -> {sweep key: value} from study_result.json."""
        res = self.result if self.is_study else None
        if not res:
            return {}
        return {c["measurement_config_hash"]: c.get("swept") or {} for c in res.get("configurations", [])}

    def runs(self):
        """One row per run, in run order: run_index, cycle, state,
        measurement_config_hash, run_dir, error_type, error, a `swept.<key>`
        column per swept parameter, then every field of the run's result.json
        flattened into dotted columns (energy.energy_per_output_token_j,
        throughput.output_tokens_per_s, latency.ttft_s.p50, config.native.batch_size,
        ...); a run without a result has those empty. Read from the JSON files
        with the json module, so it needs no Parquet engine and gives the same
        columns with or without pyarrow."""
        import pandas as pd

        swept = self._swept()
        rows = []
        for e in self._run_entries():
            row = dict(e)
            for k, v in swept.get(e["measurement_config_hash"], {}).items():
                row[f"swept.{k}"] = v
            result_file = Path(e["run_dir"]) / RESULT if e["run_dir"] else None
            if result_file is not None and result_file.is_file():
                res = _read_json(result_file)
                for k in _RESULT_FIELDS_LEFT_OUT:
                    res.pop(k, None)
                row.update(_flatten(res))
            rows.append(row)
        return pd.DataFrame(rows)

    def timeseries(self):
        """The power and energy samples of every run, one table with the
        columns of `llem export --table timeseries` (run_index,
        measurement_config_hash, study_name, cycle, time, elapsed_s, phase,
        domain, power_w, cumulative_energy_j, gpu_* ...). Read as Parquet
        when pandas has a Parquet engine (pyarrow), else through the CSV
        form with the table's column types: integers as Int64, booleans as
        boolean, time as UTC datetimes."""
        import pandas as pd

        if not self.is_study:
            # A bare run folder (no manifest): its own file.
            _require_parquet_engine()
            return pd.read_parquet(self.path / TIMESERIES)
        args = ["export", str(self.path), "--table", "timeseries"]
        if _has_parquet_engine():
            with tempfile.TemporaryDirectory() as d:
                out = Path(d) / "timeseries.parquet"
                call([*args, "--format", "parquet", "-o", str(out)])
                return pd.read_parquet(out)
        return _read_csv(call([*args, "--format", "csv"]), "timeseries.columns.json")


def load(path):
    """Opens an existing study folder, or a single experiment's folder."""
    return Study(path)


def _has_parquet_engine():
    for engine in ("pyarrow", "fastparquet"):
        try:
            __import__(engine)
            return True
        except ImportError:
            pass
    return False


# pandas dtypes of the table column types (schema/*.columns.json).
_DTYPES = {"int64": "Int64", "double": "float64", "bool": "boolean", "string": "string"}


def _read_csv(text, columns_file):
    """A table llem wrote as CSV, with the column types its columns file
    (carried in the wheel) gives; without the file, pandas infers them."""
    import pandas as pd

    dtype, dates = {}, []
    path = Path(__file__).parent / columns_file
    if path.is_file():
        for c in _read_json(path)["columns"]:
            if c["type"] == "timestamp":
                dates.append(c["name"])
            else:
                dtype[c["name"]] = _DTYPES[c["type"]]
    df = pd.read_csv(io.StringIO(text), dtype=dtype, parse_dates=dates, keep_default_na=False, na_values=[""])
    for name in dates:
        df[name] = pd.to_datetime(df[name], utc=True)
    return df


def _require_parquet_engine():
    if _has_parquet_engine():
        return
    raise ParquetUnavailable(
        "the time series is stored only as timeseries.parquet, and pandas has no "
        "Parquet engine here: install pyarrow (pip install pyarrow, or pip install "
        "'llem[parquet]'); Debian 12 packages no pyarrow: `llem export DIR --table "
        "timeseries --format csv` writes the time series as CSV, which pandas reads "
        "without one. Study.runs() needs no Parquet engine."
    )


def _read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _flatten(d, prefix=""):
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out
