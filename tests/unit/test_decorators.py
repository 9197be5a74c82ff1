"""Decorators: layers, project names, where outputs live, file names and every output format."""
from __future__ import annotations

import datetime as dt
import json
import os
import pickle

import pandas as pd
import pytest
from sample_project import naming, outputs
from sample_project.params import AllParams

import luisy
from luisy.errors import TargetError, TaskDefinitionError
from luisy.targets import (
    CSVTarget,
    DirectoryTarget,
    FeatherTarget,
    HDFTarget,
    JSONTarget,
    ParquetDirTarget,
    ParquetTarget,
    PickleTarget,
    XLSXTarget,
)

FRAME = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y z", "w;v"]})


# -------------------------------------------------------------------------------- layers
@pytest.mark.parametrize("layer", ["raw", "interim", "final"])
@pytest.mark.parametrize("called", [False, True], ids=["bare", "called"])
def test_layers_bare_and_called(working_dir, layer, called):
    decorator = getattr(luisy, layer)

    class Layered(luisy.Task):
        __module__ = "myproject.tasks"
        a = luisy.IntParameter(default=1)

    Layered = decorator()(Layered) if called else decorator(Layered)
    assert Layered.layer == layer
    assert Layered().get_project_name() == "myproject"
    assert Layered().output().path == os.path.join(
        working_dir, "myproject", layer, "Layered_a=1.pkl")


def test_project_name_from_top_level_package(working_dir):
    task = naming.WithSubDir()
    assert task.get_project_name() == "sample_project"
    assert task.output().path == os.path.join(
        working_dir, "sample_project", "raw", "sub", "dir", "WithSubDir_a=x_b=2.pkl")
    assert task.get_outdir().rstrip(os.sep) == os.path.join(
        working_dir, "sample_project", "raw", "sub", "dir")


def test_project_name_decorator(working_dir):
    assert naming.Renamed().get_project_name() == "other_project"
    assert naming.Renamed().output().path == os.path.join(
        working_dir, "other_project", "final", "Renamed.pkl")


def test_task_without_layer_lives_in_working_dir(working_dir):
    assert naming.NoLayer().output().path == os.path.join(working_dir, "NoLayer_a=x.pkl")
    assert naming.NoLayerSubDir().output().path == os.path.join(
        working_dir, "nested", "NoLayerSubDir_a=x.pkl")


def test_output_follows_a_changed_working_dir(tmp_path):
    task = naming.NoLayer(a="moves")
    before = task.output().path
    luisy.set_working_dir(tmp_path / "elsewhere")
    after = task.output().path
    assert before != after
    assert after == os.path.join(tmp_path, "elsewhere", "NoLayer_a=moves.pkl")


def test_missing_working_dir_is_reported():
    luisy.Config().set_param("working_dir", None)
    with pytest.raises(ValueError, match="working dir"):
        naming.NoLayer(a="nowhere").output()


# ---------------------------------------------------------------------------- file names
def test_auto_filename_is_the_default_sorted_by_name():
    assert naming.WithSubDir(a="q", b=3).get_file_name() == "WithSubDir_a=q_b=3"


def test_auto_filename_covers_every_parameter_type():
    name = AllParams().get_file_name()
    assert name == (
        "AllParams_count=3_day=2024-03-05_flag=False_interval=2024-W09_items=1_2"
        "_month=2024-03-01_name=a_b_c_options=k-1_pair=x_y_ratio=0.5"
    )
    assert "note" not in name  # insignificant parameters are not part of the name


def test_auto_filename_distinguishes_dict_values():
    assert (AllParams(options={"k": 1}).get_file_name()
            != AllParams(options={"k": 2}).get_file_name())


def test_auto_filename_excl_params():
    assert naming.Excluded(a=5, b=6).get_file_name() == "Excluded_a=5"
    # excluded from the name, still part of the identity
    assert naming.Excluded(b=6) != naming.Excluded(b=7)


def test_auto_filename_excl_none():
    assert naming.ExclNone().get_file_name() == "ExclNone_b=2"
    assert naming.ExclNone(a="v").get_file_name() == "ExclNone_a=v_b=2"
    assert naming.KeepNone().get_file_name() == "KeepNone_a=None_b=2"


def test_auto_filename_lists_joined_and_spaces_slashes_replaced(working_dir):
    task = naming.Lists()
    assert task.get_file_name() == "Lists_text=x_y_z_values=a_b_c_d_3"
    assert os.path.dirname(task.output().path) == os.path.join(
        working_dir, "sample_project", "interim")


def test_get_file_name_override(working_dir):
    assert naming.Custom().output().path == os.path.join(
        working_dir, "sample_project", "interim", "my_report.pkl")


def test_file_name_ending_in_the_extension_is_not_doubled(working_dir):
    folder = os.path.join(working_dir, "sample_project", "interim")
    assert naming.EndsWithExtension().output().path == os.path.join(folder, "table.csv")
    assert naming.EndsWithOtherExtension().output().path == os.path.join(
        folder, "table.pkl.csv")


# ------------------------------------------------------------------------ output formats
def test_pickle_is_the_default_output():
    assert naming.NoLayer.target_cls is PickleTarget
    assert isinstance(naming.NoLayer().output(), PickleTarget)


OUTPUT_CASES = [
    (outputs.PickleBare, PickleTarget, "pkl"),
    (outputs.PickleCalled, PickleTarget, "pkl"),
    (outputs.CsvBare, CSVTarget, "csv"),
    (outputs.CsvCalled, CSVTarget, "csv"),
    (outputs.JsonBare, JSONTarget, "json"),
    (outputs.JsonCalled, JSONTarget, "json"),
    (outputs.XlsxBare, XLSXTarget, "xlsx"),
    (outputs.XlsxCalled, XLSXTarget, "xlsx"),
    (outputs.HdfBare, HDFTarget, "hdf"),
    (outputs.HdfCalled, HDFTarget, "hdf"),
    (outputs.FeatherBare, FeatherTarget, "feather"),
    (outputs.FeatherCalled, FeatherTarget, "feather"),
    (outputs.ParquetBare, ParquetTarget, "parquet"),
    (outputs.ParquetCalled, ParquetTarget, "parquet"),
]


@pytest.mark.parametrize(("task_cls", "target_cls", "ending"), OUTPUT_CASES,
                         ids=[c[0].__name__ for c in OUTPUT_CASES])
def test_output_decorator_sets_target_and_path(working_dir, task_cls, target_cls, ending):
    task = task_cls(part=4)
    assert type(task.output()) is target_cls
    assert task.output().path == os.path.join(
        working_dir, "sample_project", "interim", f"{task_cls.__name__}_part=4.{ending}")


def _frame_round_trip(task):
    task.write(FRAME)
    assert os.path.isfile(task.output().path)
    return task.output().read()


def test_pickle_round_trip_and_protocol_forwarded():
    obj = {"frame": FRAME, "when": dt.date(2024, 1, 1), "items": [1, 2]}
    for task in (outputs.PickleBare(), outputs.PickleCalled()):
        task.write(obj)
        back = task.output().read()
        pd.testing.assert_frame_equal(back["frame"], FRAME)
        assert back["when"] == obj["when"] and back["items"] == obj["items"]
    with open(outputs.PickleCalled().output().path, "rb") as fh:
        assert fh.read(2) == b"\x80\x02"  # protocol=2 went to pickle.dump
    with open(outputs.PickleBare().output().path, "rb") as fh:
        assert fh.read(2) == bytes([0x80, pickle.HIGHEST_PROTOCOL])


def test_csv_round_trip_bare():
    pd.testing.assert_frame_equal(_frame_round_trip(outputs.CsvBare()), FRAME)
    with open(outputs.CsvBare().output().path) as fh:
        assert fh.readline().strip() == "a,b"  # no index column


def test_csv_options_forwarded_to_writer_and_reader():
    back = _frame_round_trip(outputs.CsvCalled())
    with open(outputs.CsvCalled().output().path) as fh:
        lines = fh.read().splitlines()
    assert lines[0] == "a;b"  # sep=';' used for writing
    assert lines[1] == "1;x"
    # usecols is a reader option: the file has both columns, read() only 'a'
    pd.testing.assert_frame_equal(back, FRAME[["a"]])


def test_json_round_trip_and_indent_forwarded():
    data = {"a": [1, 2], "b": {"c": "d"}}
    for task in (outputs.JsonBare(), outputs.JsonCalled()):
        task.write(data)
        assert task.output().read() == data
    with open(outputs.JsonCalled().output().path) as fh:
        assert '\n "a"' in fh.read()  # indent=1
    with open(outputs.JsonBare().output().path) as fh:
        assert '\n    "a"' in fh.read()  # luisy 1.x default indent=4
    outputs.JsonBare(part=2).write([1, "two"])
    assert outputs.JsonBare(part=2).output().read() == [1, "two"]


def test_xlsx_round_trip():
    # bare: written with the index, as luisy 1.x did
    back = _frame_round_trip(outputs.XlsxBare())
    pd.testing.assert_frame_equal(back.drop(columns=back.columns[0]), FRAME)
    # index_col goes to read_excel: the exact frame comes back
    pd.testing.assert_frame_equal(_frame_round_trip(outputs.XlsxCalled()), FRAME)


def test_hdf_round_trip_and_key_forwarded():
    pd.testing.assert_frame_equal(_frame_round_trip(outputs.HdfBare()), FRAME)
    pd.testing.assert_frame_equal(_frame_round_trip(outputs.HdfCalled()), FRAME)
    with pd.HDFStore(outputs.HdfCalled().output().path, mode="r") as store:
        assert store.keys() == ["/frame"]
    with pd.HDFStore(outputs.HdfBare().output().path, mode="r") as store:
        assert store.keys() == ["/data"]


@pytest.mark.parametrize("pair", [(outputs.FeatherBare, outputs.FeatherCalled),
                                  (outputs.ParquetBare, outputs.ParquetCalled)],
                         ids=["feather", "parquet"])
def test_columnar_round_trip_and_reader_options_forwarded(pair):
    bare, called = pair
    pd.testing.assert_frame_equal(_frame_round_trip(bare()), FRAME)
    # columns=['a'] goes to the reader; the file holds both columns
    pd.testing.assert_frame_equal(_frame_round_trip(called()), FRAME[["a"]])
    pd.testing.assert_frame_equal(bare(part=1).output().read(), FRAME)


@pytest.mark.parametrize("task_cls", [outputs.CsvBare, outputs.XlsxBare, outputs.HdfBare,
                                      outputs.FeatherBare, outputs.ParquetBare])
def test_frame_formats_refuse_other_objects(task_cls):
    task = task_cls(part=77)
    with pytest.raises(TargetError, match="DataFrame") as info:
        task.write({"not": "a frame"})
    assert task.output().path in str(info.value)
    assert not task.output().exists()


def test_json_refuses_other_objects():
    with pytest.raises(TargetError, match="dict or list"):
        outputs.JsonBare(part=78).write("text")


# --------------------------------------------------------------------------- parquet dirs
def test_parquetdir_output_with_outdir(working_dir):
    task = outputs.ParquetDirOutdir()
    assert type(task.output()) is ParquetDirTarget
    assert task.output().path == os.path.join(
        working_dir, "sample_project", "interim", "pq_folder")
    task.write(FRAME)
    assert os.path.isdir(task.output().path)
    assert task.output().exists()
    pd.testing.assert_frame_equal(task.output().read(), FRAME)


def test_parquetdir_output_with_get_folder_name(working_dir):
    task = outputs.ParquetDirFolderName(part=3)
    assert task.output().path == os.path.join(
        working_dir, "sample_project", "interim", "parts_3")
    task.write(FRAME)
    pd.testing.assert_frame_equal(task.output().read(), FRAME)


def test_parquetdir_reads_all_parts_of_a_folder():
    task = outputs.ParquetDirFolderName(part=5)
    folder = task.output().path
    os.makedirs(folder)
    # laid out as Spark writes it: several parts, an empty one, a marker file
    FRAME.iloc[:2].to_parquet(os.path.join(folder, "part-00000.parquet"))
    FRAME.iloc[2:].to_parquet(os.path.join(folder, "part-00001.parquet"))
    FRAME.iloc[:0].to_parquet(os.path.join(folder, "part-00002.parquet"))
    open(os.path.join(folder, "_SUCCESS"), "w").close()
    pd.testing.assert_frame_equal(task.output().read(), FRAME)


def test_parquetdir_empty_folder_is_an_error_naming_it():
    task = outputs.ParquetDirFolderName(part=6)
    os.makedirs(task.output().path)
    with pytest.raises(TargetError) as info:
        task.output().read()
    assert task.output().path in str(info.value)


def test_parquetdir_output_needs_a_folder_name():
    with pytest.raises(TaskDefinitionError, match="get_folder_name"):
        @luisy.parquetdir_output
        class NoFolder(luisy.Task):
            pass

    with pytest.raises(TaskDefinitionError, match="get_folder_name"):
        @luisy.parquetdir_output()
        class NoFolderCalled(luisy.Task):
            pass


# ---------------------------------------------------------------------- directory output
def _fill_texts(task):
    folder = task.output().path
    os.makedirs(folder, exist_ok=True)
    for name, text in [("b.txt", "bravo"), ("a.txt", "alpha"), ("c.csv", "charlie"),
                       ("d.txt", "skip me")]:
        with open(os.path.join(folder, name), "w") as fh:
            fh.write(text)
    return folder


def test_make_directory_output_yields_matching_files_skipping_none(working_dir):
    task = outputs.TextFolder()
    folder = _fill_texts(task)
    assert folder == os.path.join(working_dir, "sample_project", "raw", "texts")
    assert isinstance(task.output(), DirectoryTarget)
    assert task.output().exists()
    # only *.txt (regex), d.txt read as None and skipped
    assert list(task.output().read()) == ["alpha", "bravo"]


def test_make_directory_output_without_pattern_reads_every_file():
    task = outputs.AnyFileFolder()
    _fill_texts(task)
    # two decorated tasks do not share their reader or pattern
    assert list(task.output().read()) == ["a.txt", "b.txt", "c.csv", "d.txt"]
    assert list(outputs.TextFolder().output().read()) == ["alpha", "bravo"]


def test_make_directory_output_missing_folder_is_an_error_naming_it():
    task = outputs.TextFolder()
    assert not task.output().exists()
    with pytest.raises(TargetError) as info:
        task.output().read()
    assert task.output().path in str(info.value)


def test_make_directory_output_refuses_non_external_tasks():
    with pytest.raises(TaskDefinitionError, match="ExternalTask"):
        @luisy.make_directory_output(str)
        class NotExternal(luisy.Task):
            def get_folder_name(self):
                return "x"


def test_make_directory_output_needs_a_folder_name():
    with pytest.raises(TaskDefinitionError, match="get_folder_name"):
        @luisy.make_directory_output(str)
        class NoFolder(luisy.ExternalTask):
            pass


def test_output_decorators_keep_the_class():
    for name in ["pickle_output", "csv_output", "json_output", "xlsx_output", "hdf_output",
                 "feather_output", "parquet_output"]:
        decorator = getattr(luisy, name)

        class Plain(luisy.Task):
            pass

        class Called(luisy.Task):
            pass

        # bare and called; options are the format's own (unknown ones are refused:
        # tests/unit/test_bad_definitions.py), so one class gets one output decorator
        assert decorator(Plain) is Plain
        assert decorator()(Called) is Called and Called.target_kwargs == {}


def test_json_output_file_is_json():
    outputs.JsonBare(part=9).write({"x": 1})
    with open(outputs.JsonBare(part=9).output().path) as fh:
        assert json.load(fh) == {"x": 1}


def test_data_version_takes_a_mode_or_a_function_and_names_the_class_otherwise():
    @luisy.data_version("mtime")
    class Stamped(luisy.ExternalTask):
        pass

    def rows(task):
        return 3

    @luisy.data_version(rows)
    class Counted(luisy.ExternalTask):
        pass

    assert Stamped.data_version_mode == "mtime"
    assert Counted.data_version_mode is rows  # called with the task, not bound to it
    assert luisy.ExternalTask.data_version_mode == "content"
    with pytest.raises(TaskDefinitionError, match=r"^Hashed: @data_version\('sha1'\): give "
                                                  r"one of 'content', 'mtime', 'none' or a "
                                                  r"function of the task$"):
        @luisy.data_version("sha1")
        class Hashed(luisy.ExternalTask):
            pass
