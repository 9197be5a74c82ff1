"""Session-wide set-up: an isolated Prefect home and one real Prefect server, started on demand.

Prefect reads its settings when imported, so the environment is set here, before any test
module imports prefect; the server itself starts only when a test asks for ``prefect_server``.
"""
import os

import pytest

from luisy.config import Config
from luisy.testing.server import PrefectServer

SERVER = PrefectServer()
os.environ.update(SERVER.env)


@pytest.fixture(scope="session")
def prefect_server():
    """The test session's Prefect server (started once, stopped at the end)."""
    if SERVER.process is None:
        SERVER.start()
    yield SERVER


def pytest_sessionfinish(session, exitstatus):
    SERVER.stop()


@pytest.fixture
def working_dir(tmp_path):
    """A fresh luisy working dir; Config is reset afterwards."""
    wd = tmp_path / "wd"
    wd.mkdir()
    Config().reset()
    Config().set_param("working_dir", str(wd))
    yield wd
    Config().reset()
