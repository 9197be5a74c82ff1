"""The lock per output (cache/locks.py): excludes threads and processes, outputs apart."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from luisy.cache.locks import LOCK_FILE, LOCKS_DIR, OutputLocks

KINDS = [pytest.param(True, id="byte-range"), pytest.param(False, id="file-per-output")]


def _held_meanwhile(locks_a: OutputLocks, locks_b: OutputLocks, folder: str, a: str,
                    b: str) -> bool:
    """Whether a second thread got ``b``'s lock while the first held ``a``'s."""
    got = threading.Event()

    def second() -> None:
        with locks_b.hold(folder, b):
            got.set()

    with locks_a.hold(folder, a):
        thread = threading.Thread(target=second)
        thread.start()
        meanwhile = got.wait(0.5)
    thread.join(5)
    assert got.is_set()  # it got it once the first let go
    return meanwhile


@pytest.mark.parametrize("byte_range", KINDS)
def test_one_output_excludes_other_threads(tmp_path, byte_range):
    if byte_range and not OutputLocks().byte_range:
        pytest.fail("this platform was expected to have OFD locks (Linux)")
    locks = OutputLocks(byte_range)
    assert not _held_meanwhile(locks, locks, str(tmp_path), "p/a.pkl", "p/a.pkl")
    assert not _held_meanwhile(locks, OutputLocks(byte_range), str(tmp_path), "p/a.pkl",
                               "p/a.pkl")


@pytest.mark.parametrize("byte_range", KINDS)
def test_other_outputs_do_not_wait(tmp_path, byte_range):
    locks = OutputLocks(byte_range)
    assert _held_meanwhile(locks, locks, str(tmp_path), "p/a.pkl", "p/b.pkl")


def test_byte_range_locks_share_one_file(tmp_path):
    locks = OutputLocks(True)
    for name in ("a", "b", "c"):
        with locks.hold(str(tmp_path / "new"), f"p/{name}.pkl"):
            pass
    assert os.listdir(tmp_path / "new") == [LOCK_FILE]


def test_file_locks_one_file_per_output(tmp_path):
    locks = OutputLocks(False)
    for name in ("a", "b"):
        with locks.hold(str(tmp_path), f"p/{name}.pkl"):
            pass
    assert len(os.listdir(tmp_path / LOCKS_DIR)) == 2


HOLDER = """
import sys
from luisy.cache.locks import OutputLocks
with OutputLocks(sys.argv[3] == "1").hold(sys.argv[1], sys.argv[2]):
    print("held", flush=True)
    sys.stdin.readline()
"""


@pytest.mark.parametrize("byte_range", KINDS)
def test_excludes_other_processes_and_dies_with_them(tmp_path, byte_range):
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path), "p/a.pkl", str(int(byte_range))],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "held"
        got = threading.Event()

        def take() -> None:
            with OutputLocks(byte_range).hold(str(tmp_path), "p/a.pkl"):
                got.set()

        thread = threading.Thread(target=take)
        thread.start()
        assert not got.wait(0.5)  # the other process holds it
        child.kill()  # killed while holding: the kernel lets go
        thread.join(10)
        assert got.is_set()
    finally:
        child.kill()
        child.wait(10)


def test_waits_its_turn_then_runs(tmp_path):
    """Eight threads on one output take turns: never two inside at once."""
    locks, inside, most = OutputLocks(), [0], [0]
    guard = threading.Lock()

    def work() -> None:
        with locks.hold(str(tmp_path), "p/a.pkl"):
            with guard:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.01)
            with guard:
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert most[0] == 1
