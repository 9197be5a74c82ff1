"""get_spark(): which session wins, and how sessions are described in logs."""
from __future__ import annotations

import re

import pytest
from sparktest_util import run_python

from luisy import Config
from luisy.spark import describe_session, get_spark
from luisy.spark.errors import redact, short_message
from luisy.spark.session import uses_path_tables


def test_nothing_configured_gives_the_embedded_engine(embedded_spark, working_dir):
    spark = get_spark()
    assert spark is embedded_spark
    assert re.fullmatch(r"embedded pysail at sc://127\.0\.0\.1:\d+", describe_session(spark))
    assert uses_path_tables(spark)


def test_config_spark_wins(on_classic):
    assert get_spark() is on_classic
    assert describe_session(on_classic) == f"classic Spark {on_classic.version} at local[1]"
    assert not uses_path_tables(on_classic)
    Config().set_param("delta_storage", "path")
    assert uses_path_tables(on_classic)


def test_bad_delta_storage_setting_is_refused(on_embedded):
    Config().set_param("delta_storage", "folders")
    with pytest.raises(ValueError, match="'auto', 'path' or 'catalog', not 'folders'"):
        uses_path_tables(on_embedded)


def test_a_users_session_wins_over_the_embedded_engine_also_in_worker_threads():
    out = run_python(
        "import threading\n"
        "from pysail.spark import SparkConnectServer\n"
        "from pyspark.sql import SparkSession\n"
        "from luisy.spark import get_spark, describe_session\n"
        "server = SparkConnectServer(); server.start()\n"
        "url = 'sc://127.0.0.1:%d' % server.listening_address[1]\n"
        "user = SparkSession.builder.remote(url).getOrCreate()\n"
        "seen = {}\n"
        "worker = threading.Thread(target=lambda: seen.update(s=get_spark()))\n"
        "worker.start(); worker.join()\n"
        "print(get_spark() is user, seen['s'] is user, describe_session(user) == 'spark "
        "connect at ' + url)\n"
        "user.stop()\n"
        "print(describe_session(get_spark()).startswith('embedded pysail at '))\n")
    assert out.split() == ["True", "True", "True", "True"]


def test_messages_are_short_and_free_of_tokens():
    exc = RuntimeError("An error occurred while calling o95.save.\n: java.lang.Boom: "
                       "sc://h:1/;token=abc123 failed\n\tat org.apache.Foo(Foo.java:1)")
    assert short_message(exc) == "RuntimeError: java.lang.Boom: sc://h:1/;token=*** failed"
    assert redact("Authorization: Bearer xyz.abc and pw", "pw") == (
        "Authorization: Bearer *** and ***")
