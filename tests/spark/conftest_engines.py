"""Fixtures of ``test_engines.py``: Spark Connect servers in their own processes, one of each
per module (imported there, so only that module starts them).

* ``sail_server``: pysail's ``sail spark server`` (about 1 s to come up), Delta built in, its
  catalog in memory only;
* ``jvm_connect_server``: Apache Spark's ``SparkConnectServer`` from the installed pyspark's
  jars (10-15 s), without Delta Lake.

Both listen on a free port of 127.0.0.1 and are stopped when the module is done; their logs
are kept in the fixture's folder and shown when a server does not come up.
"""
from __future__ import annotations

import pytest
from engine_servers import jvm_connect_server as make_jvm_connect_server
from engine_servers import probe
from engine_servers import sail_server as make_sail_server


@pytest.fixture(scope="module")
def sail_server(tmp_path_factory):
    server = make_sail_server(str(tmp_path_factory.mktemp("sail-server"))).start(timeout=60)
    try:
        probe(server, timeout=60)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def jvm_connect_server(tmp_path_factory):
    server = make_jvm_connect_server(str(tmp_path_factory.mktemp("jvm-connect-server")))
    server.start(timeout=180)
    try:
        probe(server, timeout=120)
        yield server
    finally:
        server.stop()
