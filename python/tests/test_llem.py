"""The llem package against the real llem binary (native engine, tiny model:
a few seconds for the whole file)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import llem

TINY = {
    "model": "tiny",
    "backend": "native",
    "n": 4,
    "dataset": {"name": "synthetic", "input_len": 8, "output_len": 4},
    "warmup": {"enabled": False},
    "baseline": {"enabled": False},
}

STUDY_YAML = """\
name: tinysweep
model: tiny
backend: native
n: 4
dataset: {name: synthetic, input_len: 8, output_len: 4}
warmup: {enabled: false}
baseline: {enabled: false}
sweep:
  batch_size: [1, 2]
"""


def has_parquet_engine():
    for engine in ("pyarrow", "fastparquet"):
        try:
            __import__(engine)
            return True
        except ImportError:
            pass
    return False


@pytest.fixture
def study_file(tmp_path):
    p = tmp_path / "tinysweep.yaml"
    p.write_text(STUDY_YAML)
    return p


@pytest.fixture
def study(study_file, tmp_path):
    return llem.run(study_file, cycles=2, no_gaps=True, output=tmp_path / "results")


@pytest.mark.skipif("LLEM_BINARY" in os.environ, reason="LLEM_BINARY names the binary in use")
def test_binary_is_the_one_in_the_package():
    bundled = Path(llem.__file__).parent / "bin" / "llem"
    assert llem.binary() == str(bundled)
    assert os.access(bundled, os.X_OK)
    # The console script and `python -m llem` are that binary.
    for cmd in (["llem", "--version"], [sys.executable, "-m", "llem", "--version"]):
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        assert out.startswith("llem "), (cmd, out)


def test_run_study_file(study, tmp_path):
    assert study.is_study
    assert study.path.parent == tmp_path / "results"
    assert study.path.name.startswith("tinysweep_")
    assert study.result["summary"]["completed"] == 4
    runs = study.runs()
    assert list(runs["run_index"]) == [0, 1, 2, 3]
    assert sorted(runs["cycle"]) == [1, 1, 2, 2]
    assert set(runs["state"]) == {"completed"}
    assert sorted(runs["swept.batch_size"]) == [1, 1, 2, 2]
    # Each row's result is its own run's: the swept value is the one it ran with.
    assert (runs["swept.batch_size"] == runs["config.native.batch_size"]).all()
    assert (runs["effective.batch_size"] == runs["config.native.batch_size"]).all()
    assert (runs["throughput.output_tokens"] == 4 * 4).all()
    assert (runs["energy.energy_per_output_token_j"] > 0).all()
    assert (runs["latency.ttft_s.p50"] > 0).all()
    assert "requests" not in runs.columns


def test_load_reads_what_run_returned(study):
    import pandas.testing

    loaded = llem.load(study.path)
    assert loaded.is_study
    pandas.testing.assert_frame_equal(loaded.runs(), study.runs())
    assert loaded.config["name"] == "tinysweep"


def test_run_dict_with_overrides(tmp_path):
    exp = llem.run(TINY, n=3, batch_size=3, output=tmp_path / "out")
    # A single experiment is written with a study's layout (one run).
    assert exp.is_study
    assert exp.path.name.startswith("experiment_")
    runs = exp.runs()
    assert len(runs) == 1
    row = runs.iloc[0]
    assert row["throughput.requests"] == 3
    assert row["effective.batch_size"] == 3
    assert row["measurement_config_hash"] == exp.result["configurations"][0]["measurement_config_hash"]


def test_default_output_is_the_user_configs_results_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LLEM_RESULTS_DIR", "elsewhere")
    exp = llem.run(TINY)
    assert exp.path.parent == tmp_path / "elsewhere"
    assert (exp.path / "manifest.json").is_file()


def test_bad_field_is_bad_input(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: tiny\nbackend: native\nn: 4\nmodle: x\n")
    with pytest.raises(llem.BadInputError) as e:
        llem.run(bad, output=tmp_path / "out")
    assert isinstance(e.value, llem.LlemError)
    assert e.value.exit_code == 2
    assert e.value.message == f'{bad}:4:1: modle: unknown field "modle" (did you mean "model"?)'
    assert not (tmp_path / "out").exists()


def test_unknown_override_is_bad_input(study_file):
    with pytest.raises(llem.BadInputError, match="unknown flag: --bogus") as e:
        llem.run(study_file, bogus=1)
    assert e.value.exit_code == 2


def test_missing_file_is_bad_input(tmp_path):
    with pytest.raises(llem.BadInputError, match="cannot read the config file") as e:
        llem.run(tmp_path / "nope.yaml")
    assert e.value.exit_code == 2


def test_reserved_override_is_refused(study_file):
    with pytest.raises(ValueError, match="--dry-run"):
        llem.run(study_file, dry_run=True)


def test_failed_runs_raise_with_the_study(study_file, tmp_path):
    with pytest.raises(llem.RunsFailedError) as e:
        llem.run(study_file, timeout="1ns", cycles=1, no_gaps=True, output=tmp_path / "out")
    assert e.value.exit_code == 1
    assert e.value.message == "2 of 2 runs failed (see the failures above and each run's run.log)"
    runs = e.value.study.runs()
    assert list(runs["state"]) == ["failed", "failed"]
    assert list(runs["error_type"]) == ["timeout", "timeout"]


def test_load_refuses_a_folder_that_is_no_study(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither a study folder"):
        llem.load(tmp_path)


def test_timeseries(study):
    # Parquet with pyarrow, else the CSV form with the table's column types.
    ts = study.timeseries()
    assert list(ts.columns[:6]) == ["run_index", "measurement_config_hash", "study_name", "cycle", "time", "elapsed_s"]
    assert set(ts["run_index"]) == {0, 1, 2, 3}
    assert set(ts["cycle"]) == {1, 2}
    assert set(ts["phase"]) >= {"measure"}
    assert str(ts["run_index"].dtype) in ("Int64", "int64")
    assert str(ts["time"].dtype) == "datetime64[ns, UTC]" or str(ts["time"].dtype).startswith("datetime64[us")
    assert str(ts["power_derived"].dtype) in ("boolean", "bool")
    assert ts["cumulative_energy_j"].dtype == "float64"
    # One configuration's runs join the run table on run_index.
    runs = study.runs()
    joined = ts.merge(runs[["run_index", "swept.batch_size"]], on="run_index")
    assert len(joined) == len(ts)


@pytest.mark.skipif(has_parquet_engine(), reason="a Parquet engine is installed: CSV is not used")
def test_timeseries_without_pyarrow_reads_csv(study):
    ts = study.timeseries()
    assert str(ts["run_index"].dtype) == "Int64"
    assert str(ts["gpu_index"].dtype) == "Int64"  # all null on a CPU-only machine, still integer
    assert len(study.runs()) == 4  # runs() needs no Parquet engine
