import os

import pytest


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """The tests never see the developer's own LLEM_* settings or user config;
    LLEM_BINARY is kept, so the suite can run from a source tree too."""
    for name in list(os.environ):
        if name.startswith("LLEM_") and name != "LLEM_BINARY":
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
