"""Atomic writes: a failing writer changes nothing, readers see old or new, never half."""
from __future__ import annotations

import os
import pickle
import threading
from pathlib import Path

import pandas as pd
import pytest

from luisy.errors import TargetError
from luisy.targets import CSVTarget, ParquetDirTarget, PickleTarget
from luisy.targets.atomic import TMP_MARKER, atomic_path
from luisy.targets.local import LocalTarget


class HalfWriter(LocalTarget):
    """Writes half of its bytes, then fails, like a writer that crashes midway."""

    file_ending = "bin"
    seen_paths: list[str] = []

    def _dump(self, obj, path):
        type(self).seen_paths.append(path)
        with open(path, "wb") as fh:
            fh.write(obj[: len(obj) // 2])
            fh.flush()
            if obj.startswith(b"fail"):
                raise OSError("disk full")
            fh.write(obj[len(obj) // 2:])

    def _load(self, path):
        with open(path, "rb") as fh:
            return fh.read()


@pytest.fixture
def area(tmp_path):
    """An empty folder of its own (tmp_path also holds the working dir)."""
    folder = tmp_path / "area"
    folder.mkdir()
    return folder


def _listing(folder):
    return sorted(os.listdir(folder))


def test_failing_writer_leaves_no_target_and_no_temp_file(area):
    target = HalfWriter(area / "out.bin")
    with pytest.raises(TargetError, match="disk full") as info:
        target.write(b"fail" + b"x" * 100_000)
    assert target.path in str(info.value)
    assert not target.exists()
    assert _listing(area) == []


def test_failing_rewrite_keeps_old_target_byte_for_byte(area):
    target = HalfWriter(area / "out.bin")
    target.write(b"good" + b"o" * 50_000)
    before = (area / "out.bin").read_bytes()
    stat = os.stat(target.path)
    with pytest.raises(TargetError):
        target.write(b"fail" + b"n" * 100_000)
    assert (area / "out.bin").read_bytes() == before
    assert os.stat(target.path).st_ino == stat.st_ino  # the very same file
    assert _listing(area) == ["out.bin"]


def test_temp_file_is_hidden_beside_the_target_and_keeps_its_ending(area):
    HalfWriter.seen_paths.clear()
    HalfWriter(area / "sub" / "out.bin").write(b"good data")
    (tmp,) = HalfWriter.seen_paths
    assert os.path.dirname(tmp) == str(area / "sub")
    name = os.path.basename(tmp)
    assert name.startswith(TMP_MARKER) and name.endswith("out.bin")
    assert not os.path.exists(tmp)


def test_failing_pickle_keeps_old_pickle(area):
    target = PickleTarget(area / "obj.pkl")
    target.write({"version": 1})
    before = (area / "obj.pkl").read_bytes()
    # pickle writes the big bytes before it fails on the local function
    with pytest.raises(TargetError, match="pickle"):
        target.write([b"z" * 1_000_000, lambda: None])
    assert (area / "obj.pkl").read_bytes() == before
    assert target.read() == {"version": 1}
    assert _listing(area) == ["obj.pkl"]


def test_refused_object_keeps_old_csv(area):
    target = CSVTarget(area / "t.csv")
    target.write(pd.DataFrame({"a": [1]}))
    before = (area / "t.csv").read_bytes()
    with pytest.raises(TargetError):
        target.write("not a frame")
    assert (area / "t.csv").read_bytes() == before
    assert _listing(area) == ["t.csv"]


# ------------------------------------------------------------------------------- folders
def test_folder_target_rewrite_replaces_the_whole_folder(area):
    target = ParquetDirTarget(area / "pq")
    target.write(pd.DataFrame({"a": [1, 2]}))
    # a part left by an earlier writer (e.g. Spark with more partitions)
    pd.DataFrame({"a": [99]}).to_parquet(area / "pq" / "part-00009.parquet")
    target.write(pd.DataFrame({"a": [3]}))
    pd.testing.assert_frame_equal(target.read(), pd.DataFrame({"a": [3]}))
    assert _listing(area / "pq") == ["part-00000.parquet"]
    assert _listing(area) == ["pq"]  # no parked old folder, no temp folder


def test_failing_folder_write_keeps_old_folder(area):
    target = ParquetDirTarget(area / "pq")
    target.write(pd.DataFrame({"a": [1, 2]}))
    before = {n: (area / "pq" / n).read_bytes() for n in os.listdir(area / "pq")}
    with pytest.raises(TargetError):
        target.write(pd.DataFrame({"a": [1, "mixed types pyarrow refuses"]}))
    after = {n: (area / "pq" / n).read_bytes() for n in os.listdir(area / "pq")}
    assert after == before
    assert _listing(area) == ["pq"]


def test_failing_first_folder_write_leaves_nothing(area):
    target = ParquetDirTarget(area / "pq")
    with pytest.raises(TargetError):
        target.write(pd.DataFrame({"a": [object()]}))
    assert _listing(area) == []


# --------------------------------------------------------------------------- atomic_path
def test_atomic_path_requires_the_writer_to_write(area):
    with pytest.raises(FileNotFoundError, match="produced nothing"), \
            atomic_path(str(area / "x.txt")):
        pass
    assert _listing(area) == []


def test_atomic_path_file_replaces_a_folder(area):
    final = area / "thing"
    final.mkdir()
    (final / "inside").write_text("old")
    with atomic_path(str(final)) as tmp, open(tmp, "w") as fh:
        fh.write("new")
    assert final.read_text() == "new"
    assert _listing(area) == ["thing"]


def test_atomic_path_folder_replaces_a_file_and_a_folder(area):
    final = area / "thing"
    final.write_text("old file")
    for version in ("first", "second"):  # over the file, then over the non-empty folder
        with atomic_path(str(final)) as tmp:
            os.makedirs(tmp)
            (Path(tmp) / "part").write_text(version)
        assert (final / "part").read_text() == version
        assert _listing(area) == ["thing"]


def test_atomic_path_temp_names_differ_per_process(area):
    """A forked writer (multiprocessing, Dask) draws its own temporary names."""
    with atomic_path(str(area / "x.txt")) as mine:
        Path(mine).write_text("parent")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child reports its temporary name and leaves at once
        with atomic_path(str(area / "x.txt")) as tmp:
            Path(tmp).write_text("child")
            os.write(write, os.path.basename(tmp).encode())
        os._exit(0)
    os.close(write)
    theirs = os.read(read, 4096).decode()
    os.waitpid(pid, 0)
    assert theirs.split("-")[2] != os.path.basename(mine).split("-")[2]


def test_atomic_path_exception_propagates_and_cleans_up(area):
    (area / "keep.txt").write_text("old")
    with pytest.raises(RuntimeError, match="boom"), \
            atomic_path(str(area / "keep.txt")) as tmp:
        os.makedirs(os.path.join(tmp, "nested"))  # a half-built folder
        raise RuntimeError("boom")
    assert (area / "keep.txt").read_text() == "old"
    assert _listing(area) == ["keep.txt"]


# ------------------------------------------------------------------------------- readers
def test_readers_never_see_a_half_written_file(area):
    """One thread rewrites a large file over and over; every read is complete old or new."""
    target = PickleTarget(area / "big.pkl")
    size = 4_000_000
    versions = [bytes([65 + i]) * size for i in range(4)]
    target.write(versions[0])
    stop = threading.Event()
    errors: list[BaseException] = []

    def rewrite():
        try:
            for i in range(1, 40):
                target.write(versions[i % len(versions)])
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            stop.set()

    writer = threading.Thread(target=rewrite)
    reads = []
    writer.start()
    while not stop.is_set():
        reads.append(target.read())  # raises TargetError on a torn or missing file
    writer.join()
    reads.append(target.read())
    assert not errors
    assert len(reads) > 1
    assert all(r in versions for r in reads)
    assert len(reads[-1]) == size
    assert _listing(area) == ["big.pkl"]


def test_concurrent_writers_leave_one_complete_version(area):
    target = PickleTarget(area / "shared.pkl")
    payloads = [{"writer": i, "data": bytes([i]) * 500_000} for i in range(4)]

    def write(payload):
        for _ in range(5):
            target.write(payload)

    threads = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert target.read() in payloads
    with open(target.path, "rb") as fh:
        assert pickle.load(fh) in payloads
    assert _listing(area) == ["shared.pkl"]
