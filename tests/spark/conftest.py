"""Real Spark engines for the Spark tests, one of each per test session.

* ``classic_spark``: a JVM pyspark session on ``local[1]`` (about 8 s to start), for what
  classic Spark does: parquet folders, blob paths. It has no Delta Lake jars.
* ``embedded_spark``: luisy's embedded engine (pysail over Spark Connect, about 1 s), for Delta.

``on_classic`` / ``on_embedded`` pin ``Config 'spark'`` to one of them for a test, in a fresh
working dir, so that tests do not depend on which engine happened to start first.
"""
from __future__ import annotations

import pytest

from luisy import Config
from luisy.spark.session import classic_session, embedded_session, stop_embedded


@pytest.fixture(scope="session")
def classic_spark(tmp_path_factory):
    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    session = classic_session("local[1]", "luisy-tests", {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",  # pandas <-> JVM without workers
        "spark.sql.shuffle.partitions": "1",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.sql.warehouse.dir": str(warehouse),
    })
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def embedded_spark(classic_spark):
    # the JVM is started first: launching it (fork + exec) from a process that already runs
    # pysail's and gRPC's threads now and then kills the gateway before it reports its port
    session = embedded_session()
    yield session
    stop_embedded()


@pytest.fixture
def on_classic(classic_spark, working_dir, monkeypatch):
    # pyspark's rule: once a Spark Connect session exists, Column expressions are built for
    # Connect; a process uses one kind at a time, so classic tests switch that mode off
    monkeypatch.delenv("SPARK_CONNECT_MODE_ENABLED", raising=False)
    Config().set_param("spark", classic_spark)
    return classic_spark


@pytest.fixture
def on_embedded(embedded_spark, working_dir):
    Config().set_param("spark", embedded_spark)
    return embedded_spark

