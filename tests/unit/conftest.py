"""Shared fixtures of the unit tests: every test gets its own working dir and a fresh Config."""
from __future__ import annotations

import pytest

from luisy import Config


@pytest.fixture(autouse=True)
def working_dir(tmp_path, monkeypatch):
    """``<tmp_path>/wd`` as luisy's working dir; Config is reset before and after."""
    monkeypatch.delenv("WORKING_DIR", raising=False)
    Config().reset()
    wd = tmp_path / "wd"
    wd.mkdir()
    Config().set_param("working_dir", str(wd))
    yield wd
    Config().reset()
