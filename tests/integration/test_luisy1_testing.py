"""luisy 1.x's testing helpers (``luisy.testing``), used as 1.x users and 1.x's own test suite
used them: ``LuisyTestCase``, ``create_testing_config``, ``debug_run``, ``create_file``,
``get_all_dependencies`` and ``SparkMock``.

The ``LuisyTestCase`` classes are ports of 1.x's tests/test_testing.py and
tests/test_decorators.py; the ``debug_run`` ones of tests/test_reruns.py, test_helpers.py and
test_base.py; the SparkMock one of tests/test_spark.py. Everything runs for real: Prefect flow
runs on the session's server, the embedded Spark engine for SparkMock.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap

import pandas as pd
import pytest
from compat_support.l1testing_tasks import (
    Broken,
    CustomFilename,
    DictTask,
    ExternalA,
    FinalTask,
    InterimTask,
    ListTask,
    MyJSONTask,
    MyTask2,
    RawTask,
    ReadsTheDirectory,
    RerunFinalTask,
    RerunInterimTask,
    RerunRawTask,
    ToyTaskA,
)
from luigi.execution_summary import LuigiStatusCode
from prefect_api import flow_run

import luisy
from luisy import Config
from luisy.testing import (
    LuisyTestCase,
    SparkMock,
    create_file,
    create_testing_config,
    debug_run,
    get_all_dependencies,
)

pytestmark = pytest.mark.prefect

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(autouse=True)
def _fresh_config(prefect_server, monkeypatch):
    """Every test starts from Config's defaults, no working dir set, and leaves them so."""
    monkeypatch.delenv("WORKING_DIR", raising=False)
    Config().reset()
    yield
    Config().reset()


def frame(**columns):
    return pd.DataFrame(data=columns)


# ------------------------------------------------------- 1.x tests/test_testing.py, ported
class TestTesting(LuisyTestCase):

    def test_run(self):
        existing_outputs = [
            (RawTask(a=1), pd.DataFrame(data={"A": [1, 2], "B": [3, 4]}))
        ]

        df = self.run_pipeline(FinalTask(a=1), existing_outputs=existing_outputs)
        pd.testing.assert_frame_equal(
            df,
            pd.DataFrame(
                data={0: [1, 3, 4], 1: [2, 4, 6]},
                index=["A", "B", "C"]
            )
        )

    def test_with_given_interim_given(self):
        df_test = pd.DataFrame(data={"A": [1, 2], "B": [3, 4]})
        existing_outputs = [
            (InterimTask(a=1), df_test)
        ]
        df = self.run_pipeline(FinalTask(a=1), existing_outputs=existing_outputs)
        pd.testing.assert_frame_equal(
            df,
            df_test.transpose()
        )

    def test_execution_summary_for_failed_task(self):
        existing_outputs = [
            (InterimTask(a=1), {"key": "value"})
        ]
        summary = self.get_execution_summary(FinalTask(a=1), existing_outputs=existing_outputs)
        self.assertEqual(
            summary["failed"],
            {FinalTask(a=1)}
        )

    def test_run_for_failed_task(self):

        existing_outputs = [
            (InterimTask(a=1), {"key": "value"})
        ]

        with self.assertRaises(AssertionError):
            self.run_pipeline(FinalTask(a=1), existing_outputs=existing_outputs)

    def test_run_with_missing_externals(self):
        with self.assertRaises(AssertionError):
            self.run_pipeline(
                task=FinalTask(a=1),
                existing_outputs=[
                    (RawTask(a=2), pd.DataFrame(data={"A": [1, 2], "B": [3, 4]})),
                    (RawTask(a=3), pd.DataFrame(data={"A": [1, 2], "B": [3, 4]}))

                ]
            )

    def test_assert_success_for_correct_runs(self):
        self.assertSuccess(
            task=FinalTask(a=1),
            existing_outputs=[
                (RawTask(a=1), pd.DataFrame(data={"A": [1, 2], "B": [3, 4]}))
            ]
        )

    def test_assert_fail_for_incorrect_runs(self):
        self.assertFail(
            task=FinalTask(a=1),
            existing_outputs=[
                (RawTask(a=2), pd.DataFrame(data={"A": [1, 2], "B": [3, 4]})),
            ]
        )

    def test_assert_missing_for_incorrect_runs(self):
        self.assertMissing(
            task=FinalTask(a=1),
            existing_outputs=[
                (RawTask(a=2), pd.DataFrame(data={"A": [1, 2], "B": [3, 4]})),
            ]
        )

    def test_get_execution_summary(self):
        summary = self.get_execution_summary(
            task=FinalTask(a=1),
            existing_outputs=[
                (RawTask(a=2), pd.DataFrame(data={"A": [1, 2], "B": [3, 4]})),
                (RawTask(a=3), pd.DataFrame(data={"A": [1, 2], "B": [3, 4]}))

            ]
        )
        self.assertEqual(
            summary["upstream_missing_dependency"],
            {FinalTask(a=1), InterimTask(a=1)}
        )

    def test_get_all_dependencies(self):
        tasks = get_all_dependencies(FinalTask(a=1))
        self.assertIsInstance(tasks, set)
        self.assertEqual(
            tasks,
            {RawTask(a=1), InterimTask(a=1), FinalTask(a=1)}
        )

    def test_mocking_does_not_change_mutable_objects(self):
        existing_outputs = [
            (RawTask(a=2), pd.DataFrame(data={"A": [1, 2], "B": [3, 4]}))
        ]
        output = self.run_pipeline(
            task=FinalTask(a=2),
            return_store=True,
            existing_outputs=existing_outputs
        )
        pd.testing.assert_frame_equal(
            left=output[RawTask(a=2)],
            right=pd.DataFrame(data={"A": [1, 2], "B": [3, 4]})
        )
        pd.testing.assert_frame_equal(
            left=output[FinalTask(a=2)],
            right=pd.DataFrame(data={"A": [1, 2], "B": [3, 4], "C": [8, 12]}).T
        )

        existing_outputs = [(RawTask(a=2), {"there": [50]})]
        output = self.run_pipeline(
            task=DictTask(),
            return_store=True,
            existing_outputs=existing_outputs
        )
        self.assertEqual(output[RawTask(a=2)]["there"][0], 50)
        self.assertEqual(output[DictTask()], {"there": [10]})  # the task mutated a copy


# ---------------------------------------------------- 1.x tests/test_decorators.py, ported
class TestDecoratorOutputs(LuisyTestCase):
    def test_json_decorator(self):
        dct = self.run_pipeline(MyJSONTask())
        self.assertDictEqual(
            d1=dct,
            d2={
                "A": "b",
                "C": "d"
            }
        )


class TestDecoratorParenthesis(LuisyTestCase):

    def test_dir_decorator_parenthesis(self):
        @luisy.decorators.final()
        @luisy.decorators.pickle_output
        class TaskWithParenthesis(luisy.Task):
            def run(self):
                self.write([0])

        @luisy.decorators.final
        @luisy.decorators.pickle_output
        class TaskWithoutParenthesis(luisy.Task):
            def run(self):
                self.write([0])

        task_a = TaskWithParenthesis()
        self.run_pipeline(task_a)
        self.assertEqual(
            task_a.get_outdir(),
            "/some/working_dir/test_luisy1_testing/final/",
        )
        task_b = TaskWithoutParenthesis()
        self.run_pipeline(task_b)
        self.assertEqual(
            task_b.get_outdir(),
            "/some/working_dir/test_luisy1_testing/final/",
        )
        self.assertFalse(os.path.exists("/some/working_dir"))  # nothing is written there
        self.doCleanups()  # the test's cleanup takes 1.x's working dir out of Config again
        self.assertIsNone(Config().get_param("working_dir"))


# --------------------------------------------------------- LuisyTestCase, 1.x behaviour
class TestExistingOutputs(LuisyTestCase):

    def test_tasks_outside_the_graph_are_ignored_and_named_in_the_log(self):
        with self.assertLogs("luisy.testing", "WARNING") as logs:
            store = self.run_pipeline(
                FinalTask(a=1),
                existing_outputs=[(RawTask(a=1), frame(A=[1], B=[2])),
                                  (RawTask(a=7), "not looked at"),
                                  (MyJSONTask(), {"any": "object"})],
                return_store=True)
        self.assertIn("RawTask(a=7)", "\n".join(logs.output))
        # the whole store, as in 1.x: also the given objects that were not needed
        self.assertEqual(store[RawTask(a=7)], "not looked at")
        self.assertEqual(store[MyJSONTask()], {"any": "object"})
        self.assertEqual(self.last_run.summary["already_done"], {RawTask(a=1)})

    def test_any_object_is_served_as_given_whatever_the_format(self):
        # RawTask is a csv_output: a list could never be written as csv, nor read back
        self.assertEqual(self.run_pipeline(ListTask(), [(RawTask(a=2), [1, 2, 3])]), 6)
        given = frame(A=[1, 2], B=[3, 4])
        given.columns = [10, 20]  # a csv round trip would turn these into "10", "20"
        result = self.run_pipeline(FinalTask(a=1), [(InterimTask(a=1), given)])
        self.assertEqual(list(result.index), [10, 20])

    def test_a_given_output_is_not_rerun_nor_written(self):
        summary = self.get_execution_summary(FinalTask(a=1), [(InterimTask(a=1), frame(A=[1]))])
        self.assertEqual(summary["completed"], {FinalTask(a=1)})
        self.assertEqual(summary["already_done"], {InterimTask(a=1)})
        self.assertNotIn(RawTask(a=1), self.last_run.store)  # below a given output: not reached


class TestStrictExistingOutputs(LuisyTestCase):
    """luisy 2's check, still reachable: a given output outside the graph is refused."""

    strict_existing_outputs = True

    def test_outside_the_graph_is_refused(self):
        with self.assertRaisesRegex(ValueError, r"RawTask\(a=7\) is not part of the graph"):
            self.run_pipeline(FinalTask(a=1), existing_outputs=[(RawTask(a=7), frame(A=[1]))])


class TestWorkingDirOfTheTest(LuisyTestCase):
    """A test that sets a working dir keeps it; outputs paths are under it; nothing is written
    there by run_pipeline (as in 1.x, whose targets were in memory)."""

    def setUp(self):
        self.tmpdir = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmpdir.cleanup()

    def expected_path(self, task):
        return os.path.join(self.tmpdir.name, "compat_support", "final",
                            f"{task.get_task_family()}_a={task.a}.pkl")

    def check_paths_under_the_working_dir(self):
        task = FinalTask(a=1)
        self.assertEqual(task.output().path, self.expected_path(task))
        self.run_pipeline(task, existing_outputs=[(RawTask(a=1), frame(A=[1], B=[2]))])
        self.assertEqual(Config().get_param("working_dir"), self.tmpdir.name)
        self.assertEqual(task.output().path, self.expected_path(task))
        self.assertEqual(task.get_outdir(), os.path.join(self.tmpdir.name, "compat_support",
                                                         "final", ""))
        self.assertEqual(os.listdir(self.tmpdir.name), [])

    def test_set_param(self):
        luisy.Config().set_param("working_dir", self.tmpdir.name)
        self.check_paths_under_the_working_dir()

    def test_create_testing_config(self):
        create_testing_config(working_dir=self.tmpdir.name)
        self.check_paths_under_the_working_dir()


# -------------------------------------------------------------------- create_testing_config
def test_create_testing_config_sets_what_1x_set(tmp_path):
    Config().update({"dry_run": True, "download": True, "requirements_path": "reqs.txt"})
    create_testing_config(working_dir=tmp_path, storage_key="key", account_name="acc",
                          container_name="box", upload=True)
    config = Config()
    assert config.get_param("working_dir") == str(tmp_path)
    assert (config.get_param("dry_run"), config.get_param("download"),
            config.get_param("upload")) == (False, False, True)
    assert config.get_param("requirements_path") == "reqs.txt"  # None defaults stay as set
    assert (config.get_param("azure_account_key"), config.get_param("azure_account_name"),
            config.get_param("azure_container_name")) == ("key", "acc", "box")
    assert isinstance(config.get_param("spark"), SparkMock)
    assert Config().spark is config.get_param("spark")  # what SparkTasks get

    create_testing_config(working_dir=tmp_path, mock_spark=False, azure_storage_key="k2")
    assert config.get_param("spark") is None
    assert config.get_param("azure_account_key") == "k2"  # 1.x's name of the setting


def test_create_testing_config_passes_any_setting_on(tmp_path):
    with pytest.warns(UserWarning, match="my_own_setting"):  # 1.x stored any name: so does Config
        create_testing_config(working_dir=tmp_path, my_own_setting=1)
    assert Config().get_param("my_own_setting") == 1


# --------------------------------------------------------------------------- create_file
def test_create_file_pickles_the_value(tmp_path):
    create_testing_config(working_dir=tmp_path)
    path = RerunRawTask().output().path.replace(".csv", ".pkl")
    create_file(path, val={"a": 1})  # its folder is made
    assert pd.read_pickle(path) == {"a": 1}


def test_create_file_makes_external_data_that_a_build_finds(tmp_path):
    create_testing_config(working_dir=tmp_path)
    create_file(ExternalA().output().path, val={"from": "outside"})  # as 1.x's test_sync.py
    summary = debug_run(ToyTaskA())
    assert summary["completed"] == {ToyTaskA()}
    assert summary["already_done"] == {ExternalA()}
    assert ToyTaskA().read() == {"from": "outside", "ToyTaskA": "run_locally"}


# ----------------------------------------------------------------------------- debug_run
class TestDebugRun(LuisyTestCase):
    """1.x's tests/test_reruns.py and test_base.py use debug_run like this."""

    def setUp(self):
        self.tmpdir = tempfile.TemporaryDirectory()
        create_testing_config(working_dir=self.tmpdir.name)
        RerunRawTask().write(pd.DataFrame(data={"a": [1, 2], "b": [3, 4]}))

    def tearDown(self):
        self.tmpdir.cleanup()

    def test_compatibility_with_luigi_run(self):
        task = RerunFinalTask(a=2)
        result = debug_run(task)

        self.assertIn(RerunRawTask(), result["already_done"])
        self.assertIn(RerunInterimTask(a=2), result["completed"])
        self.assertIn(RerunFinalTask(a=2), result["completed"])

        df = task.read()
        self.assertIsInstance(df, pd.DataFrame)
        self.assertTrue(os.path.exists(os.path.join(
            self.tmpdir.name, "tests", "final", "RerunFinalTask_a=2.pkl")))

        again = debug_run([task])
        self.assertEqual(again["already_done"], {task})
        self.assertEqual(again["completed"], set())

    def test_directory_output(self):
        raw_dir = os.path.join(self.tmpdir.name, "tests", "raw")
        pd.DataFrame(data={"A": [1, 2], "B": [3, 4]}).to_csv(
            os.path.join(raw_dir, "some_export.csv"), index=False)

        task = ReadsTheDirectory()
        debug_run(tasks=[task])
        files = task.read()
        self.assertEqual(len(files), 2)  # raw_file.csv and some_export.csv
        self.assertIsInstance(files[0], pd.DataFrame)

    def test_result_as_luigi_gave_it(self):
        result = debug_run(RerunFinalTask(a=3), return_summary=False)
        self.assertEqual(result.status, LuigiStatusCode.SUCCESS)
        self.assertTrue(result.scheduling_succeeded)
        self.assertIn("This progress looks :) because there were no failed tasks",
                      result.summary_text)
        run_id = result.builds[0].flow_run_id
        self.assertTrue(flow_run(run_id).state.is_completed())  # a real Prefect flow run

        failed = debug_run([Broken()], return_summary=False)
        self.assertEqual(failed.status, LuigiStatusCode.FAILED)
        self.assertEqual(failed.summary["failed"], {Broken()})
        self.assertIn("this task is broken", failed.summary_text)

    def test_missing_external_data(self):
        os.remove(RerunRawTask().output().path)
        result = debug_run(RerunFinalTask(a=2), return_summary=False)
        self.assertEqual(result.status, LuigiStatusCode.MISSING_EXT)
        self.assertEqual(result.summary["still_pending_ext"], {RerunRawTask()})
        self.assertEqual(result.summary["upstream_missing_dependency"],
                         {RerunInterimTask(a=2), RerunFinalTask(a=2)})

    def test_several_tasks_are_one_summary(self):
        result = debug_run(tasks=[RerunFinalTask(a=2), RerunInterimTask(a=2)])
        self.assertEqual(result["completed"], {RerunFinalTask(a=2), RerunInterimTask(a=2)})
        self.assertEqual(result["already_done"], {RerunRawTask()})

    def test_dry_run_setting_does_not_stop_it(self):
        Config().set_param("dry_run", True)  # luisy's CLI setting; debug_run builds anyway
        self.assertIn(RerunFinalTask(a=2), debug_run(RerunFinalTask(a=2))["completed"])


class TestRegexTaskPattern(LuisyTestCase):
    """1.x's tests/test_helpers.py: debug_run of several tasks, then their instances."""

    def setUp(self) -> None:
        self.tmp_dir = tempfile.TemporaryDirectory()
        create_testing_config(working_dir=self.tmp_dir.name)
        self.task1 = MyTask2()
        self.task2 = MyTask2(a=2, b=2, c=2)
        self.task3 = MyTask2(a=2, b=3, c=2)
        self.result = debug_run(tasks=[self.task1, self.task2, self.task3])

    def tearDown(self) -> None:
        self.tmp_dir.cleanup()

    def test_everything_ran_once(self):
        self.assertEqual(self.result["completed"], {
            self.task1, self.task2, self.task3, CustomFilename(a=1, b=1, c=1),
            CustomFilename(a=2, b=2, c=2), CustomFilename(a=2, b=3, c=2)})
        self.assertEqual(self.result["already_done"], set())

    def test_get_related_instances(self):
        tasks = MyTask2.get_related_instances()
        self.assertEqual(len(tasks), 3)
        for task in tasks:
            number = task.read()
            self.assertEqual(
                number,
                int(task.a)
            )


# ------------------------------------------------------ SparkMock, 1.x tests/test_spark.py
SPARK_TESTS = '''
import tempfile
import unittest

import pandas as pd
import pytest

from luisy import Config
from luisy.cli import build
from luisy.testing import SparkMock, create_testing_config
from compat_support.l1testing_tasks import LocalTask, ToySparkTask


class TestSparkTask(unittest.TestCase):

    def setUp(self):
        self.tmpdir = tempfile.TemporaryDirectory()
        create_testing_config(working_dir=self.tmpdir.name)
        self.df_test = pd.DataFrame(data={'a': [1], 'b': [2]})
        Config().spark.data['A.B.raw'] = self.df_test

    def tearDown(self):
        self.tmpdir.cleanup()

    def test_local_task(self):
        task = LocalTask()

        build(task=task, download=False)

        import os
        self.assertTrue(os.path.exists(task.get_outfile()))
        pd.testing.assert_frame_equal(task.read(), self.df_test)

    def test_downloading(self):
        task = ToySparkTask()

        # Make sure that table does not exist before run
        self.assertNotIn('A.B.interim', Config().spark.tables)

        build(task=task, download=False)

        # Make sure that table is written
        self.assertIn('A.B.interim', Config().spark.tables)

    def test_the_rest_of_1x_interface(self):
        spark = Config().spark
        self.assertEqual(spark.tables, ['A.B.raw'])
        pd.testing.assert_frame_equal(spark.table('A.B.raw').toPandas(), self.df_test)
        pd.testing.assert_frame_equal(SparkMock.data['A.B.raw'], self.df_test)
        self.assertTrue(spark.sql('SELECT 1 from A.B.raw'))

        from pyspark.errors.exceptions.connect import AnalysisException
        with self.assertRaises(AnalysisException):
            spark.sql('SELECT 1 from A.B.nope')
        with self.assertRaises(KeyError):
            spark.data['A.B.nope']

        spark.data['A.B.listed'] = {'x': [1, 2]}  # what pd.DataFrame(data=...) takes
        self.assertEqual(spark.data['A.B.listed']['x'].tolist(), [1, 2])
        spark.sql('DROP TABLE IF EXISTS A.B.listed')
        self.assertEqual(spark.tables, ['A.B.raw'])

        # everything else is the real engine's
        self.assertEqual(spark.createDataFrame(self.df_test).count(), 1)
        self.assertEqual(spark.sql('SELECT 41 + 1 AS x').collect()[0].x, 42)
'''


def test_spark_mock_as_1x_tests_used_it(tmp_path):
    """In its own process: the embedded Spark engine is not started in the test session's
    (a JVM launched later next to pysail's threads may lose its gateway, tests/spark)."""
    pytest.importorskip("pysail")
    (tmp_path / "test_l1_spark.py").write_text(textwrap.dedent(SPARK_TESTS))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(tmp_path / "test_l1_spark.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=400,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(
            [HERE, os.environ.get("PYTHONPATH", "")])})
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert "3 passed" in result.stdout
