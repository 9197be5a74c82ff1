"""What docs/spark.md's code blocks need around them (see test_code_blocks.py).

The page is complete by itself: its blocks set the working dir (``data`` in the reader's
dir), build their tables on the embedded engine and save their Prefect block on the test
session's server. What the fixture adds is a reader's environment: none of the host's
settings that would send the page's builds elsewhere (another working dir, catalog tables, a
remote to sync with, a Spark Connect server).
"""
from __future__ import annotations

import pytest

#: settings luisy or pyspark read from the environment that a reader of the page has not set
HOST_SETTINGS = ("WORKING_DIR", "LUISY_DELTA_STORAGE", "LUISY_REMOTE", "LUISY_REMOTE_LAYOUT",
                 "SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED")


@pytest.fixture
def spark_page(monkeypatch):
    for name in HOST_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    yield
