"""Pipelines from luisy 1.x's own test suite (tests/test_testing.py, test_reruns.py,
test_helpers.py, test_spark.py), written with 1.x idioms: luigi's parameters, 1.x decorators.

The tests of ``luisy.testing``'s 1.x helpers run them (test_luisy1_testing.py).
"""
import os

import luigi
import pandas as pd

import luisy
from luisy.tasks.base import SparkTask


# ------------------------------------------------------------ 1.x tests/test_testing.py
@luisy.raw
@luisy.csv_output(sep=";")
class RawTask(luisy.ExternalTask):
    a = luigi.IntParameter(default=2)

    def get_file_name(self):
        return f"some_export_{self.a}"


@luisy.interim
@luisy.requires(RawTask)
class InterimTask(luisy.Task):
    a = luigi.IntParameter(default=2)

    def run(self):
        df = self.input().read()
        df["C"] = (df * self.a).sum(axis=1)

        self.write(df)


@luisy.final
@luisy.requires(InterimTask)
class FinalTask(luisy.Task):

    def run(self):
        df = self.input().read()
        df = df.transpose()
        self.write(df)


@luisy.requires(RawTask)
class DictTask(luisy.Task):
    """1.x's DictTask mutated its input and wrote nothing; luisy 2 fails a run() that writes
    no output (a task that claims success must have produced it), so this one writes."""

    def run(self):
        dct = self.input().read()
        dct["there"][0] = 10
        self.write(dct)


@luisy.requires(RawTask)
class ListTask(luisy.Task):
    """Reads whatever object the test gave for RawTask's csv output."""

    def run(self):
        self.write(sum(self.input().read()))


@luisy.json_output
class MyJSONTask(luisy.Task):
    def run(self):
        dct = {
            "A": "b",
            "C": "d"
        }
        self.write(dct)


# ------------------------------------------------------------ 1.x tests/test_reruns.py
@luisy.project_name("tests")
@luisy.raw
@luisy.csv_output()
class RerunRawTask(luisy.ExternalTask):
    def get_file_name(self):
        return "raw_file"


@luisy.project_name("tests")
@luisy.interim
@luisy.requires(RerunRawTask)
class RerunInterimTask(luisy.Task):
    a = luigi.IntParameter()

    def run(self):
        df = self.input().read()
        df = self.a * df
        self.write(df)


@luisy.project_name("tests")
@luisy.final
@luisy.requires(RerunInterimTask)
class RerunFinalTask(luisy.Task):
    a = luigi.IntParameter(default=1)

    def run(self):
        df = self.input().read()
        df = self.a + df
        self.write(df)


@luisy.project_name("tests")
@luisy.final
class Broken(luisy.Task):
    def run(self):
        raise RuntimeError("this task is broken")


# -------------------------------------------------------------- 1.x tests/test_sync.py
@luisy.project_name("my_project")
@luisy.raw
class ExternalA(luisy.ExternalTask):
    pass


@luisy.project_name("my_project")
@luisy.interim
@luisy.requires(ExternalA)
class ToyTaskA(luisy.Task):
    def run(self):
        self.write({**self.input().read(), "ToyTaskA": "run_locally"})


# ------------------------------------------------------------ 1.x tests/test_helpers.py
@luisy.project_name("tests")
@luisy.interim
class CustomFilename(luisy.Task):
    a = luisy.IntParameter()
    b = luisy.IntParameter()
    c = luisy.IntParameter()

    def get_sub_dir(self):
        return os.path.join(
            "this",
            str(self.a),
            "isjustatest"
        )

    def get_file_name(self):
        return f"{self.a}_fake_filename_{self.b}_{self.c}"

    def run(self):
        self.write("")


@luisy.project_name("tests")
@luisy.final
@luisy.requires(CustomFilename)
@luisy.auto_filename
class MyTask2(luisy.Task):
    a = luisy.IntParameter(default=1)
    b = luisy.IntParameter(default=1)
    c = luisy.IntParameter(default=1)

    def run(self):
        self.write(self.a)


# ------------------------------------------------------------ 1.x tests/test_base.py
def _read_file(file):
    return pd.read_csv(file)


@luisy.project_name("tests")
@luisy.raw
@luisy.make_directory_output(read_file_func=_read_file, regex_pattern=".csv")
class SomeExternalDirectory(luisy.ExternalTask):
    def get_folder_name(self):
        return ""


@luisy.project_name("tests")
@luisy.requires(SomeExternalDirectory)
@luisy.interim
class ReadsTheDirectory(luisy.Task):
    def run(self):
        files = []
        for df in self.input().read():
            files.append(df)
        self.write(files)


# ------------------------------------------------------------ 1.x tests/test_spark.py
@luisy.deltatable_input(catalog="A", schema="B", table_name="raw")
@luisy.deltatable_output(catalog="A", schema="B", table_name="interim")
class ToySparkTask(SparkTask):

    def run(self):

        df = self.input().read()
        self.write(df)


@luisy.project_name("tests")
@luisy.requires(ToySparkTask)
@luisy.auto_filename
@luisy.interim
class LocalTask(SparkTask):

    def run(self):
        df = self.input().read()
        self.write(df)
