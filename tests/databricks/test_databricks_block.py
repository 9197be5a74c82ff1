"""SparkSessionBlock(mode='databricks') with the real databricks-connect client.

No Databricks workspace is reachable from here, so the client talks to a local pysail Spark
Connect server through ``DatabricksSession.builder.remote("sc://127.0.0.1:PORT")``, and the
host/token/cluster path is shown failing fast against fake hosts on 127.0.0.1: a closed port,
a TCP server that accepts and never answers, and an HTTP server that answers every request
with 503. However a host misbehaves, the whole connect ends within its limit (plus a little).
"""
from __future__ import annotations

import http.server
import logging
import os
import pickle
import re
import socket
import sys
import threading
import time

import pytest
from pysail.spark import SparkConnectServer

from luisy import Config
from luisy.spark import SparkSessionError, describe_session, get_spark
from luisy.spark import session as spark_session
from luisy.spark.block import SparkSessionBlock
from luisy.targets.delta import DeltaTableTarget

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "spark"))
from sparktest_tasks import TaskA, TaskB, TaskC, seed_raw

SECRET = "dapi0123456789SECRETabcdef"
# confs the databricks-connect client reads before createDataFrame and pysail does not have
PYSAIL_GAPS = {
    "spark.sql.execution.pandas.inferPandasDictAsMap": "false",
    "spark.sql.pyspark.inferNestedDictAsStruct.enabled": "false",
    "spark.sql.pyspark.legacy.inferArrayTypeFromFirstElement.enabled": "false",
    "spark.sql.pyspark.legacy.inferMapTypeFromFirstPair.enabled": "false",
}


@pytest.fixture(scope="module")
def endpoint():
    server = SparkConnectServer()
    server.start()
    yield f"sc://127.0.0.1:{server.listening_address[1]}"
    server.stop()


@pytest.fixture(scope="module")
def dbc_spark(endpoint):
    block = SparkSessionBlock(mode="databricks", url=endpoint, conf=PYSAIL_GAPS)
    session = block.get_session()
    yield session
    session.stop()  # before the server: the client would retry a server that is gone


LIMIT = 3.0
#: what a connect may take beyond its limit (closing what was made, building the error)
GRACE = 2.0
COMPUTES = [pytest.param({"cluster_id": "0123-456789-abcdefgh"}, id="cluster"),
            pytest.param({"serverless": True}, id="serverless")]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_port():
    """A TCP server on 127.0.0.1 that accepts every connection and never sends a byte."""
    server = socket.create_server(("127.0.0.1", 0), backlog=64)
    server.settimeout(0.1)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for sock in [*accepted, server]:
        sock.close()


def http_503_server(retry_after: str | None) -> http.server.ThreadingHTTPServer:
    """An HTTP server on 127.0.0.1 answering every request with 503 (and ``Retry-After``)."""

    class Unavailable(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.send_response(503)
            if retry_after is not None:
                self.send_header("Retry-After", retry_after)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = do_HEAD = _answer

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Unavailable)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


@pytest.fixture(params=[None, "30"], ids=["503", "503-retry-after-30"])
def unavailable_port(request):
    server = http_503_server(request.param)
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def connect_fails(block: SparkSessionBlock, caplog, capfd) -> tuple[str, float]:
    """``block.get_session()``'s error message and how long it took, checked for what every
    failed connect must show: within the limit, its real time, never the token."""
    caplog.set_level(logging.DEBUG)
    started = time.monotonic()
    with pytest.raises(SparkSessionError) as info:
        block.get_session()
    elapsed = time.monotonic() - started
    message = str(info.value)
    limit = block.connect_timeout_seconds
    assert elapsed <= limit + GRACE, f"took {elapsed:.1f}s: {message}"
    stated = re.search(rf" after (\d+\.\d)s \(limit {limit:g}s\): ", message)
    assert stated, message
    assert abs(float(stated.group(1)) - elapsed) < 0.5, (elapsed, message)
    assert info.value.__suppress_context__
    out, err = capfd.readouterr()
    assert SECRET not in message + caplog.text + out + err
    return message, elapsed


def test_databricks_session_from_the_block(dbc_spark, endpoint):
    from databricks.connect import DatabricksSession  # noqa: F401 - the real client is used

    assert describe_session(dbc_spark) == f"databricks at {endpoint}"
    assert dbc_spark.sql("SELECT 6 * 7 AS x").collect()[0].x == 42


def test_tutorial_pipeline_on_databricks_connect(dbc_spark, working_dir):
    Config().set_param("spark", dbc_spark)
    Config().set_param("delta_storage", "path")  # pysail's catalog is in memory only
    seed_raw()
    for task in (TaskA(), TaskB(), TaskC()):
        task.run()
    interim = DeltaTableTarget(catalog="my_catalog", schema="my_schema", table_name="interim")
    assert interim.read().columns == ["a", "b"]
    with open(TaskC().output().path, "rb") as fh:
        result = pickle.load(fh).sort_values("a")
    assert result.to_dict("list") == {"a": [1, 2, 3], "b": [10, 20, 30], "f": [2, 4, 6]}


@pytest.mark.usefixtures("prefect_server")
def test_get_spark_builds_the_session_from_a_saved_block(endpoint, working_dir):
    SparkSessionBlock(mode="databricks", url=endpoint, conf=PYSAIL_GAPS).save(
        "sparktests-dbc", overwrite=True)
    Config().set_param("spark_block", "spark-session/sparktests-dbc")
    spark = get_spark()
    try:
        assert describe_session(spark) == f"databricks at {endpoint}"
        assert spark.sql("SELECT 1 AS one").collect()[0].one == 1
    finally:
        spark.stop()


@pytest.mark.parametrize("compute", [{"cluster_id": "0123-456789-abcdefgh"},
                                     {"serverless": True}])
def test_unreachable_host_fails_fast_naming_the_host_not_the_token(compute, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    host = f"https://127.0.0.1:{closed_port()}"
    block = SparkSessionBlock(mode="databricks", host=host, token=SECRET,
                              connect_timeout_seconds=3, **compute)
    started = time.monotonic()
    with pytest.raises(SparkSessionError) as info:
        block.get_session()
    elapsed = time.monotonic() - started
    message = str(info.value)
    assert elapsed < 15, f"took {elapsed:.1f}s"
    assert message.startswith(f"cannot connect to databricks at {host} (")
    assert "Connection refused" in message
    assert info.value.__suppress_context__
    out, err = capfd.readouterr()
    assert SECRET not in message + caplog.text + out + err


@pytest.mark.parametrize("compute", COMPUTES)
def test_a_host_that_never_answers_fails_within_the_limit(compute, silent_port, caplog, capfd):
    host = f"https://127.0.0.1:{silent_port}"
    block = SparkSessionBlock(mode="databricks", host=host, token=SECRET,
                              connect_timeout_seconds=LIMIT, **compute)
    message, elapsed = connect_fails(block, caplog, capfd)
    assert message.startswith(f"cannot connect to databricks at {host} (")
    assert "Read timed out" in message  # the SDK's first request: host metadata, over TLS
    assert elapsed >= LIMIT - 0.5  # it did wait for an answer, for as long as it could


@pytest.mark.parametrize("compute", COMPUTES)
def test_a_host_answering_503_fails_within_the_limit(compute, unavailable_port, caplog,
                                                      capfd):
    # plain HTTP: the SDK's requests then get the 503s (gRPC, for serverless, fails on TLS)
    host = f"http://127.0.0.1:{unavailable_port}"
    block = SparkSessionBlock(mode="databricks", host=host, token=SECRET,
                              connect_timeout_seconds=LIMIT, **compute)
    message, elapsed = connect_fails(block, caplog, capfd)
    assert message.startswith(f"cannot connect to databricks at {host} (")
    if "cluster_id" in compute:
        assert "/api/2.1/clusters/get" in message and "HTTP 503" in message
    if "Retry-After" in message:  # 30 s cannot be waited for: given up at once, not at 3 s
        assert elapsed < LIMIT


@pytest.mark.parametrize("token", [SECRET, None], ids=["tls-token", "plaintext"])
def test_a_connect_url_that_never_answers_fails_within_the_limit(token, silent_port, caplog,
                                                                  capfd):
    url = f"sc://127.0.0.1:{silent_port}"
    block = SparkSessionBlock(mode="databricks", url=url, token=token,
                              connect_timeout_seconds=LIMIT)
    message, elapsed = connect_fails(block, caplog, capfd)
    assert message.startswith(f"cannot connect to databricks at {url} after ")
    assert "Deadline Exceeded" in message
    assert elapsed >= LIMIT - 0.5


@pytest.fixture
def own_endpoint():
    """A pysail server of the test's own: a session made on the module's ``endpoint`` could
    be one of databricks-connect's cached (luisy-made) sessions."""
    server = SparkConnectServer()
    server.start()
    yield f"sc://127.0.0.1:{server.listening_address[1]}"
    server.stop()


def test_a_databricks_session_the_user_made_is_described_as_databricks(own_endpoint):
    from databricks.connect import DatabricksSession

    session = DatabricksSession.builder.remote(own_endpoint).getOrCreate()
    try:
        assert session not in spark_session._INFO  # the user's: luisy has no record of it
        assert describe_session(session) == f"databricks at {own_endpoint}"
        assert session.sql("SELECT 1 AS one").collect()[0].one == 1
    finally:
        session.stop()  # before the server: the client would retry a server that is gone
