"""Fixtures of ``test_engines.py``: Spark Connect servers in their own processes, one of each
per module (imported there, so only that module starts them).

* ``sail_server``: pysail's ``sail spark server`` (about 1 s to come up), Delta built in, its
  catalog in memory only;
* ``jvm_connect_server``: Apache Spark's ``SparkConnectServer`` from the installed pyspark's
  jars (10-15 s), without Delta Lake.

Both listen on a free port of 127.0.0.1, are ready once a client got an answer to
``SELECT 1``, and are stopped when the module is done; their logs are kept in the fixture's
folder and shown when a server does not come up.
"""
from __future__ import annotations

from collections.abc import Callable

import pytest
from engine_servers import EngineServer, probe
from engine_servers import jvm_connect_server as make_jvm_connect_server
from engine_servers import sail_server as make_sail_server


def started(make: Callable[[str], EngineServer], folder, start_timeout: float,
            answer_timeout: float, attempts: int = 2) -> EngineServer:
    """A server that answers; a second try on a new port when the first did not come up
    (another process may take the free port between choosing and binding it)."""
    problems = []
    for attempt in range(attempts):
        server = make(str(folder / f"try-{attempt}"))
        try:
            server.start(timeout=start_timeout)
            probe(server, timeout=answer_timeout)
            return server
        except RuntimeError as exc:
            server.stop()
            problems.append(str(exc))
    pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture(scope="module")
def sail_server(tmp_path_factory):
    server = started(make_sail_server, tmp_path_factory.mktemp("sail-server"), 60, 60)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def jvm_connect_server(tmp_path_factory):
    server = started(make_jvm_connect_server, tmp_path_factory.mktemp("jvm-connect-server"),
                     180, 120)
    yield server
    server.stop()
