"""Classic (JVM) Spark: SparkTask with pandas files and parquet folders, blob storage paths."""
from __future__ import annotations

import os

import pandas as pd
import pytest
from sparktest_tasks import BigOnes, Doubled, Numbers

import luisy
from luisy import Config
from luisy.errors import TargetError
from luisy.targets.azure import AzureBlobStorageTarget
from luisy.targets.delta import DeltaTableTarget
from luisy.targets.local import CSVTarget, ParquetDirTarget, PickleTarget
from luisy.tasks.base import SparkTask


def test_spark_task_reads_pandas_as_spark_and_writes_parquet_folders_with_spark(on_classic):
    for task in (Numbers(), Doubled(), BigOnes()):
        task.run()

    folder = Doubled().output().path
    assert os.path.exists(os.path.join(folder, "_SUCCESS"))  # Spark wrote it, not pandas
    doubled = Doubled().output().read()
    assert isinstance(doubled, pd.DataFrame)
    assert sorted(doubled["y"]) == [0, 2, 4, 6]
    assert pd.read_csv(BigOnes().output().path).to_dict("list") == {"x": [2, 3], "y": [4, 6]}


def test_a_spark_context_in_config_stands_for_its_session_as_in_1x(on_classic):
    Config().set_param("spark", on_classic.sparkContext)  # luisy 1.x's tutorial did this
    assert Doubled().spark is on_classic
    for task in (Numbers(), Doubled()):
        task.run()
    assert sorted(Doubled().output().read()["y"]) == [0, 2, 4, 6]


def test_spark_frames_become_pandas_only_for_files_pandas_writes(tmp_path):
    assert not PickleTarget(str(tmp_path / "x.pkl")).accepts_spark_frames
    assert not CSVTarget(str(tmp_path / "x.csv")).accepts_spark_frames
    assert ParquetDirTarget(str(tmp_path / "x")).accepts_spark_frames
    assert DeltaTableTarget(catalog="c", schema="s", table_name="t").accepts_spark_frames
    assert AzureBlobStorageTarget(endpoint="file:///x", directory="d").accepts_spark_frames


@pytest.mark.parametrize(("file_format", "inferschema"), [("parquet", False), ("csv", True)])
def test_blob_storage_target_on_a_file_uri(on_classic, tmp_path, file_format, inferschema):
    endpoint = (tmp_path / "container").as_uri()
    target = AzureBlobStorageTarget(outdir="/out", endpoint=endpoint, directory="data/sales",
                                    file_format=file_format, inferschema=inferschema)
    assert target.location == f"{endpoint}/data/sales"
    assert target.path == os.path.join("/out", endpoint, "data/sales")
    assert not target.exists()
    with pytest.raises(TargetError, match="does not exist"):
        target.read()

    target.write(pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]}))
    assert target.exists()
    df = target.read()
    if file_format == "csv":
        df = df.toDF("a", "b")  # headerless CSV: Spark names the columns _c0, _c1
    assert sorted(df.toPandas().itertuples(index=False)) == [(1, 0.5), (2, 1.5)]
    target.remove()
    assert not target.exists()


def test_blob_storage_decorators_wire_input_and_output(on_classic, tmp_path):
    endpoint = (tmp_path / "blobs").as_uri()

    @luisy.project_name("sparktests")
    @luisy.azure_blob_storage_output(endpoint=endpoint, directory="in")
    class Source(SparkTask):
        def run(self):
            self.write(self.spark.createDataFrame(pd.DataFrame({"a": [1, 2, 3]})))

    @luisy.project_name("sparktests")
    @luisy.azure_blob_storage_input(endpoint=endpoint, directory="in")
    @luisy.azure_blob_storage_output(endpoint=endpoint, directory="out")
    class Copy(SparkTask):
        def run(self):
            df = self.input().read()
            self.write(df.filter(df.a > 1))

    Source().run()
    Copy().run()
    assert sorted(Copy().output().read().toPandas()["a"]) == [2, 3]


@pytest.mark.usefixtures("prefect_server")
def test_delta_errors_found_while_planning_land_in_the_summary_naming_the_task(on_classic):
    from sparktest_tasks import TaskA, TaskB, TaskC

    Config().set_param("delta_storage", "catalog")  # classic Spark here: no Delta catalog
    summary = luisy.build(TaskC(), cloud_mode=True)
    assert not summary.ok
    assert summary.failed == {TaskA(), TaskB()}
    assert summary.completed == set()
    assert not os.path.exists(TaskC().output().path)  # nothing ran
    message = summary.errors[TaskA()]
    assert "`my_catalog`.`my_schema`.`interim`" in message
    assert "delta-spark" in message and "\tat org.apache" not in message
    assert f"FAILED {TaskA()}: " in str(summary)
    assert summary.plan.steps[TaskA()].reason.startswith("cannot check its output: ")
