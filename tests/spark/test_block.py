"""SparkSessionBlock: validation, secrets, real sessions, and loading by slug in a new process."""
from __future__ import annotations

import importlib.util
import logging
import re
import socket
import time

import pytest
from pydantic import ValidationError
from sparktest_util import run_python

from luisy import Config
from luisy.spark import SparkSessionError, describe_session, get_spark
from luisy.spark.block import SparkSessionBlock
from luisy.spark.session import active_session, classic_builder, session_info

SECRET = "dapi0123456789SECRETabcdef"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_token_never_shows_in_repr_describe_or_dumps():
    block = SparkSessionBlock(mode="connect", url="sc://127.0.0.1:15002", token=SECRET)
    for text in (repr(block), str(block), block.describe(), block.model_dump_json(),
                 str(block.model_dump())):
        assert SECRET not in text
    assert block.describe() == "spark connect at sc://127.0.0.1:15002 (token ***)"
    dbx = SparkSessionBlock(mode="databricks", host="https://adb-1.net", cluster_id="c-1")
    assert dbx.describe() == "databricks at https://adb-1.net (cluster c-1)"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"mode": "connect"}, "mode 'connect' needs url"),
    ({"mode": "connect", "url": f"sc://h:1/;token={SECRET}"}, "not in the url"),
    ({"mode": "connect", "url": "http://h:1"}, "starting with sc://"),
    ({"mode": "databricks"}, "needs host"),
    ({"mode": "databricks", "host": "https://h"}, "exactly one of cluster_id"),
    ({"mode": "databricks", "host": "https://h", "cluster_id": "c", "serverless": True},
     "exactly one of cluster_id"),
    ({"mode": "nonsense"}, "mode"),
])
def test_invalid_blocks_are_refused_without_echoing_the_token(kwargs, message):
    with pytest.raises(ValidationError, match=message) as info:
        SparkSessionBlock(token=SECRET, **kwargs)
    assert SECRET not in str(info.value)


def test_connect_mode_against_a_real_endpoint(embedded_spark, working_dir):
    url = session_info(embedded_spark).endpoint
    block = SparkSessionBlock(mode="connect", url=url,
                              conf={"spark.sql.session.timeZone": "UTC"})
    session = block.get_session()
    try:
        assert session is not embedded_spark
        assert session.sql("SELECT 41 + 1 AS x").collect()[0].x == 42
        assert session.conf.get("spark.sql.session.timeZone") == "UTC"
        assert describe_session(session) == f"spark connect at {url}"
    finally:
        session.stop()


@pytest.mark.filterwarnings("ignore:.*RETRIES_EXCEEDED")
def test_unreachable_endpoint_fails_fast_with_one_error_naming_it(caplog, working_dir):
    caplog.set_level(logging.DEBUG)
    url = f"sc://127.0.0.1:{closed_port()}"
    block = SparkSessionBlock(mode="connect", url=url, token=SECRET, connect_timeout_seconds=2)
    started = time.monotonic()
    with pytest.raises(SparkSessionError) as info:
        block.get_session()
    assert time.monotonic() - started < 20
    message = str(info.value)
    assert re.match(rf"cannot connect to spark connect at {re.escape(url)} after "
                    r"\d+\.\ds \(limit 2s\): ", message), message
    assert info.value.__suppress_context__  # one error, not a chain
    assert SECRET not in message and SECRET not in caplog.text
    assert active_session() is None  # the failed session was dropped, not left as default


def test_local_mode_is_classic_spark(classic_spark):
    session = SparkSessionBlock(mode="local", master="local[1]").get_session()
    assert session is classic_spark  # one JVM context per process
    assert describe_session(session) == f"classic Spark {session.version} at local[1]"


@pytest.mark.skipif(importlib.util.find_spec("databricks.connect") is not None,
                    reason="databricks-connect is installed (tests/databricks covers it)")
def test_databricks_mode_without_databricks_connect_says_what_to_install():
    block = SparkSessionBlock(mode="databricks", host="https://h", cluster_id="c", token=SECRET)
    with pytest.raises(SparkSessionError, match="needs databricks-connect") as info:
        block.get_session()
    assert SECRET not in str(info.value)


@pytest.mark.usefixtures("prefect_server")
def test_missing_block_is_one_clear_error(working_dir):
    Config().set_param("spark_block", "sparktests-no-such-block")
    with pytest.raises(SparkSessionError, match=r"'sparktests-no-such-block'.*could not be"):
        get_spark()


@pytest.mark.usefixtures("prefect_server")
def test_saved_block_loads_by_slug_in_a_new_process(embedded_spark):
    url = session_info(embedded_spark).endpoint
    SparkSessionBlock.register_type_and_schema()
    SparkSessionBlock(mode="connect", url=url).save("sparktests-connect", overwrite=True)
    SparkSessionBlock(mode="databricks", host="https://adb-1.net", cluster_id="c-1",
                      token=SECRET).save("sparktests-dbx", overwrite=True)

    out = run_python(
        "import os\n"
        "from prefect.blocks.core import Block\n"  # luisy is found via its entry point
        "block = Block.load('spark-session/sparktests-connect')\n"
        "print(type(block).__module__, type(block).__name__, block.describe())\n"
        "from luisy import Config\n"
        "from luisy.spark import get_spark, describe_session\n"
        "Config().set_param('spark_block', 'sparktests-connect')\n"
        "spark = get_spark()\n"
        "print(describe_session(spark), spark.sql('SELECT 7 AS x').collect()[0].x)\n"
        "dbx = Block.load('spark-session/sparktests-dbx')\n"
        "print(dbx.token.get_secret_value() == os.environ['EXPECTED'], repr(dbx))\n",
        EXPECTED=SECRET)
    lines = out.strip().splitlines()
    assert lines[0] == f"luisy.spark.block SparkSessionBlock spark connect at {url}"
    assert lines[1] == f"spark connect at {url} 7"
    assert lines[2].startswith("True SparkSessionBlock(")
    assert SECRET not in out


def test_local_mode_with_delta_carries_the_delta_extension_and_catalog():
    conf = {"spark.ui.enabled": "false"}
    options = classic_builder("local[1]", "luisy-tests", conf, delta=True)._options
    assert options["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert options["spark.sql.catalog.spark_catalog"] == (
        "org.apache.spark.sql.delta.catalog.DeltaCatalog")
    import pyspark

    spark_minor = ".".join(pyspark.__version__.split(".")[:2])
    assert options["spark.jars.packages"].startswith(f"io.delta:delta-spark_{spark_minor}_")
    # jars given by hand: nothing to download
    given = classic_builder("local[1]", "t", {"spark.jars": "/jars/delta.jar"}, delta=True)
    assert "spark.jars.packages" not in given._options
    assert "spark.jars.packages" not in classic_builder("local[1]", "t", conf)._options


def test_local_mode_with_delta_whose_jars_cannot_be_had_is_one_clear_error():
    # Maven: a closed port on this machine, so the result is the same with or without network
    out = run_python(
        "import socket\n"
        "from luisy.spark import SparkSessionError\n"
        "from luisy.spark.block import SparkSessionBlock\n"
        "s = socket.socket(); s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]; s.close()\n"
        "block = SparkSessionBlock(mode='local', master='local[1]', delta=True, conf={\n"
        "    'spark.jars.repositories': f'http://127.0.0.1:{port}/maven',\n"
        "    'spark.jars.ivy': __import__('tempfile').mkdtemp(),\n"
        "    'spark.ui.enabled': 'false'})\n"
        "try:\n"
        "    block.get_session()\n"
        "except SparkSessionError as exc:\n"
        "    print('ERROR', exc)\n", timeout=300)
    message = out.strip().splitlines()[-1]
    assert message.startswith("ERROR classic Spark with Delta Lake did not start: the JVM "
                              "exited, as it does when the Delta jars (io.delta:delta-spark_")
    assert "configure_spark_with_delta_pip" in message and "spark.jars" in message
