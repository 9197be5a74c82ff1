"""Spark-written folders when the engine's file system is not this machine's (issue 13).

The remote engine is a real pysail server in its own mount namespace, where the test's working
dir is an empty tmpfs: it sees the same path as this process but other files, as a Spark
Connect server on another host or Databricks would.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time

import pandas as pd
import pytest
from sparktest_tasks import BigOnes, Doubled, Numbers

from luisy import Config
from luisy.spark.session import discard_session, shares_files

SAIL = os.path.join(os.path.dirname(sys.executable), "sail")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the remote engine exited: {proc.stderr.read()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"the remote engine did not listen on {port} within {timeout}s")


@pytest.fixture(scope="module")
def remote_engine(tmp_path_factory):
    """(working dir this process sees, sc:// url of an engine that sees an empty one there)."""
    working_dir = tmp_path_factory.mktemp("not-shared")
    port = _free_port()
    script = (f"mount -t tmpfs none '{working_dir}' && "
              f"exec '{SAIL}' spark server --ip 127.0.0.1 --port {port}")
    # as root a mount namespace of its own; elsewhere one inside a user namespace
    unshare = ["unshare", "-m", "--propagation", "private"]
    if os.geteuid() != 0:
        unshare = ["unshare", "-Urm"]
    assert shutil.which("unshare"), "util-linux' unshare is needed for this test"
    proc = subprocess.Popen([*unshare, "sh", "-c", script], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env={**os.environ,
                                                                    "RUST_LOG": "error"})
    try:
        _wait_for_port(port, proc)
        yield working_dir, f"sc://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def on_remote(remote_engine, working_dir):
    from pyspark.sql import SparkSession

    folder, url = remote_engine
    session = SparkSession.builder.remote(url).create()
    Config().set_param("working_dir", str(folder))
    Config().set_param("spark", session)
    yield session, folder
    discard_session(session)  # before the server stops (module teardown)


def test_the_engine_is_asked_whether_it_sees_the_folder(on_remote, embedded_spark, tmp_path):
    session, folder = on_remote
    assert not shares_files(session, str(folder))
    assert shares_files(embedded_spark, str(tmp_path))
    assert not [name for name in os.listdir(folder) if name.startswith(".luisy-probe")]


def test_a_parquet_folder_from_a_remote_engine_lands_here(on_remote):
    _, folder = on_remote
    for task in (Numbers(), Doubled(), BigOnes()):
        task.run()
    doubled = Doubled().output()
    assert doubled.path.startswith(str(folder))
    assert os.path.isdir(doubled.path)
    assert sorted(pd.read_parquet(doubled.path)["y"]) == [0, 2, 4, 6]
    assert pd.read_csv(BigOnes().output().path).to_dict("list") == {"x": [2, 3], "y": [4, 6]}
