"""Local targets used directly: the read/write/exists/remove API and its errors."""
from __future__ import annotations

import hashlib
import os

import pandas as pd
import pytest

from luisy.errors import TargetError
from luisy.targets import (
    CSVTarget,
    DirectoryTarget,
    FeatherTarget,
    HDFTarget,
    JSONTarget,
    LocalTarget,
    ParquetDirTarget,
    ParquetTarget,
    PickleTarget,
    XLSXTarget,
)

FRAME = pd.DataFrame({"n": [1, 2], "s": ["a", "b"], "f": [0.5, 1.5]})

FRAME_TARGETS = [
    (CSVTarget, "csv"), (XLSXTarget, "xlsx"), (HDFTarget, "hdf"), (FeatherTarget, "feather"),
    (ParquetTarget, "parquet"),
]


@pytest.mark.parametrize(("cls", "ending"), [*FRAME_TARGETS, (PickleTarget, "pkl"),
                                              (JSONTarget, "json"),
                                              (ParquetDirTarget, ""), (DirectoryTarget, "")])
def test_file_endings(cls, ending):
    assert cls.file_ending == ending


@pytest.mark.parametrize(("cls", "ending"), FRAME_TARGETS, ids=[c[1] for c in FRAME_TARGETS])
def test_frame_round_trip_creates_missing_folders(tmp_path, cls, ending):
    path = tmp_path / "deep" / "er" / f"frame.{ending}"
    opts = {"index_col": 0} if cls is XLSXTarget else {}
    target = cls(path, **opts)
    assert target.path == str(path)
    assert not target.exists()
    target.write(FRAME)
    assert target.exists()
    pd.testing.assert_frame_equal(target.read(), FRAME)
    target.remove()
    assert not target.exists()
    assert os.listdir(path.parent) == []


def test_pickle_any_object(tmp_path):
    target = PickleTarget(tmp_path / "obj.pkl")
    obj = {"set": {1, 2}, "tuple": (1, "a"), "none": None}
    target.write(obj)
    assert target.read() == obj


@pytest.mark.parametrize(("cls", "obj"), [
    (PickleTarget, list(range(200_000))),  # pickled in frames of 64 KiB: many writes
    (PickleTarget, os.urandom(1 << 20)),  # one large buffer, written past pickle's frames
    (PickleTarget, "tiny"),
    (JSONTarget, {"ü": [1, 2]}),
])
def test_a_serialising_write_knows_the_digest_and_signature_of_its_bytes(tmp_path, cls, obj):
    target = cls(tmp_path / f"obj.{cls.file_ending}")
    written = target.write(obj)
    with open(target.path, "rb") as fh:
        assert written.digest == hashlib.sha256(fh.read()).hexdigest()
    assert written.signature == target.signature()  # taken before the rename: it survives
    assert target.read() == obj


def test_a_write_by_a_library_knows_nothing_of_its_bytes(tmp_path):
    assert CSVTarget(tmp_path / "f.csv").write(FRAME) is None

    class Answers(PickleTarget):  # a 1.x subclass whose _dump returns something of its own
        def _dump(self, obj, path):
            super()._dump(obj, path)
            return path

    assert Answers(tmp_path / "a.pkl").write({"a": 1}) is None


def test_overwrite_replaces_content(tmp_path):
    target = PickleTarget(tmp_path / "obj.pkl")
    target.write("old")
    target.write("new")
    assert target.read() == "new"


def test_csv_write_kwargs_go_to_writer_only(tmp_path):
    target = CSVTarget(tmp_path / "t.csv", sep="|", write_kwargs={"index": True})
    target.write(FRAME)
    with open(target.path) as fh:
        assert fh.readline().strip() == "|n|s|f"
    back = target.read()
    assert list(back.columns) == ["Unnamed: 0", "n", "s", "f"]


def test_csv_shared_options_used_both_ways(tmp_path):
    frame = pd.DataFrame({"x": [1.5, 2.25]})
    target = CSVTarget(tmp_path / "t.csv", sep=";", decimal=",")
    target.write(frame)
    with open(target.path) as fh:
        assert fh.read().splitlines() == ["x", "1,5", "2,25"]
    pd.testing.assert_frame_equal(target.read(), frame)


def test_hdf_key_used_both_ways(tmp_path):
    target = HDFTarget(tmp_path / "t.hdf", key="table")
    target.write(FRAME)
    pd.testing.assert_frame_equal(pd.read_hdf(target.path, key="table"), FRAME)
    pd.testing.assert_frame_equal(target.read(), FRAME)


def test_parquet_write_kwargs(tmp_path):
    target = ParquetTarget(tmp_path / "t.parquet", write_kwargs={"index": False})
    target.write(FRAME.set_index("s"))
    assert "s" not in target.read().columns


@pytest.mark.parametrize("cls", [PickleTarget, CSVTarget, JSONTarget, XLSXTarget, HDFTarget,
                                 FeatherTarget, ParquetTarget, ParquetDirTarget])
def test_reading_a_missing_target_names_the_file(tmp_path, cls):
    path = tmp_path / "missing" / f"thing.{cls.file_ending or 'dir'}"
    with pytest.raises(TargetError) as info:
        cls(path).read()
    assert str(path) in str(info.value)


def test_reading_a_missing_directory_names_it(tmp_path):
    reader = type("Reader", (DirectoryTarget,), {"read_file": staticmethod(str)})
    with pytest.raises(TargetError) as info:
        reader(tmp_path / "nothing").read()
    assert str(tmp_path / "nothing") in str(info.value)


def test_reading_garbage_names_the_file_and_the_cause(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(TargetError, match="JSONDecodeError") as info:
        JSONTarget(path).read()
    assert str(path) in str(info.value)
    assert isinstance(info.value.__cause__, ValueError)


def test_write_errors_name_the_file(tmp_path):
    target = CSVTarget(tmp_path / "t.csv")
    with pytest.raises(TargetError, match="needs a pandas DataFrame") as info:
        target.write([1, 2])
    assert target.path in str(info.value)


def test_base_local_target_is_abstract_about_formats(tmp_path):
    target = LocalTarget(tmp_path / "x.bin")
    with pytest.raises(TargetError, match="cannot be written"):
        target.write(b"x")
    (tmp_path / "x.bin").write_bytes(b"x")
    with pytest.raises(TargetError, match="cannot be read"):
        target.read()


def test_directory_target_is_read_only(tmp_path):
    with pytest.raises(TargetError, match="cannot be written"):
        DirectoryTarget(tmp_path / "d").write(["x"])


def test_remove_folder_target_and_missing_target(tmp_path):
    target = ParquetDirTarget(tmp_path / "pq")
    target.write(FRAME)
    assert target.exists() and target.is_folder()
    target.remove()
    assert not os.path.exists(target.path)
    target.remove()  # removing what is not there is fine
    assert not PickleTarget(tmp_path / "x.pkl").is_folder()


def test_folder_targets_do_not_exist_as_files(tmp_path):
    (tmp_path / "pq").write_text("a file, not a folder")
    assert not ParquetDirTarget(tmp_path / "pq").exists()
    assert not DirectoryTarget(tmp_path / "pq").exists()


def test_pandas_flags():
    assert PickleTarget.requires_pandas is False
    assert JSONTarget.requires_pandas is False
    assert ParquetDirTarget.requires_pandas is False
    for cls, _ in FRAME_TARGETS:
        assert cls.requires_pandas is True


def test_repr_and_location(tmp_path):
    target = PickleTarget(tmp_path / "x.pkl")
    assert target.location == target.path
    assert repr(target) == f"PickleTarget({target.path!r})"
