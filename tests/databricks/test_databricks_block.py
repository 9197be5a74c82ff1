"""SparkSessionBlock(mode='databricks') with the real databricks-connect client.

No Databricks workspace is reachable from here, so the client talks to a local pysail Spark
Connect server through ``DatabricksSession.builder.remote("sc://127.0.0.1:PORT")``, and the
host/token/cluster path is shown failing fast against a closed port on 127.0.0.1.
"""
from __future__ import annotations

import logging
import os
import pickle
import socket
import sys
import time

import pytest
from pysail.spark import SparkConnectServer

from luisy import Config
from luisy.spark import SparkSessionError, describe_session, get_spark
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


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
