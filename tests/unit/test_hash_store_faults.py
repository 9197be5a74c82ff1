"""A damaged file of the hash store gets one clear answer and loses nothing (issue 15).

``.luisy.hash``, ``.luisy.keys.json`` and ``.luisy.journal`` that are there but not what luisy
writes are refused with one HashStoreError naming the file (and line) and what is wrong, by
the plan, ``task.complete()``, ``luisy.build()`` and the CLI alike; the file is left byte for
byte and no output is touched. Taking such a file for an empty store would rerun every task
and overwrite the file: its keys lost for good.
"""
from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pytest

import luisy
from luisy import cli
from luisy.cache import HashStore, current_key, record_of
from luisy.cache.store import RS
from luisy.errors import HashStoreError
from luisy.planner import Decision

PROJECT = "hsfaults"


@luisy.project_name(PROJECT)
@luisy.interim
class Piece(luisy.Task):
    i = luisy.IntParameter(default=1)

    def run(self) -> None:
        self.write({"i": self.i})


@luisy.project_name(PROJECT)
@luisy.final
@luisy.requires(Piece)
class Whole(luisy.Task):
    def run(self) -> None:
        self.write({"whole": self.input().read()})


# ----------------------------------------------------------------------------- helpers
def made_by_hand(working_dir: Path) -> Path:
    """Both outputs written and their keys recorded, as ``task.run()`` by hand does (1.x
    style); the project folder, which holds ``.luisy.hash`` and ``.luisy.keys.json``."""
    Piece().run()
    Whole().run()
    folder = working_dir / PROJECT
    assert Whole().complete()
    return folder


def snapshot(working_dir: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file below the working dir: its bytes, inode and modification time (a file
    replaced or written again shows in them); the store's lock file aside (reading takes it)."""
    found = {}
    for folder, _, names in os.walk(working_dir):
        for name in names:
            path = Path(folder, name)
            if name != ".luisy.lock":
                st = path.stat()
                found[str(path.relative_to(working_dir))] = (
                    path.read_bytes(), st.st_ino, st.st_mtime_ns)
    return found


def assert_refused(task: luisy.Task, path: Path, *fragments: str) -> HashStoreError:
    """The plan and ``task.complete()`` refuse with one line naming ``path``."""
    with pytest.raises(HashStoreError) as caught:
        luisy.plan(task)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    assert "\n" not in message
    assert "luisy changed nothing" in message
    for fragment in fragments:
        assert fragment in message, message
    assert caught.value.path == str(path)
    assert str(pickle.loads(pickle.dumps(caught.value))) == message  # from a task run's process
    with pytest.raises(HashStoreError, match="luisy changed nothing") as again:
        task.complete()
    assert str(again.value) == message
    return caught.value


# ------------------------------------------------------------------------ .luisy.hash
HASH_CASES = {
    "empty": (b"", "empty (0 bytes)"),
    "list": (b"[]", "expected a JSON object of output -> key, found a list"),
    "null": (b"null", "expected a JSON object of output -> key, found null"),
    "number": (b"5", "found a number"),
    "string": (b'"abc"', "found a string"),
    "key a number": (b'{"/hsfaults/interim/Piece_i=1.pkl": 5}',
                     'at "/hsfaults/interim/Piece_i=1.pkl": expected a string or null, found '
                     "a number"),
    "key an object": (b'{"/hsfaults/interim/Piece_i=1.pkl": {"k": "x"}}',
                      "expected a string or null, found an object"),
    "key true": (b'{"/hsfaults/interim/Piece_i=1.pkl": true}', "found true or false"),
    "not UTF-8": (b'{"/hsfaults/\xff.pkl": "ab"}', "not UTF-8 text (byte 0xff at offset 12)"),
    "not JSON": (b"{'/hsfaults/a.pkl': 'ab'}", "not valid JSON"),
}


def test_a_hash_file_cut_short_is_refused(working_dir):
    folder = made_by_hand(working_dir)
    whole = (folder / ".luisy.hash").read_bytes()
    (folder / ".luisy.hash").write_bytes(whole[: len(whole) // 2])
    before = snapshot(working_dir)

    assert_refused(Piece(), folder / ".luisy.hash", "not valid JSON", "where the text ends")
    assert snapshot(working_dir) == before


def test_writing_an_output_by_hand_never_overwrites_a_damaged_hash_file(working_dir):
    folder = made_by_hand(working_dir)
    (folder / ".luisy.hash").write_bytes(b"[]")

    with pytest.raises(HashStoreError, match="found a list"):
        Piece(i=2).run()  # its output is written; its key cannot be recorded

    assert (folder / ".luisy.hash").read_bytes() == b"[]"
    assert not (folder / ".luisy.journal").exists()


# ------------------------------------------------------------------- .luisy.keys.json
def details(outputs: object = None, fingerprints: object = None, **more: object) -> bytes:
    return json.dumps({"version": 1, "outputs": {} if outputs is None else outputs,
                       "fingerprints": {} if fingerprints is None else fingerprints,
                       **more}).encode()


DETAILS_CASES = {
    "empty": (b"", "empty (0 bytes)"),
    "list": (b"[]", "expected a JSON object of version, outputs, fingerprints, found a list"),
    "null": (b"null", "found null"),
    "number": (b"1", "found a number"),
    "string": (b'"x"', "found a string"),
    "the hash file's content": (b'{"/hsfaults/interim/Piece_i=1.pkl": "ab"}',
                                'found one without "version"'),
    "outputs a list": (details(outputs=[]), 'at "outputs": expected an object, found a list'),
    "an output a string": (details(outputs={"/hsfaults/a.pkl": "ab"}),
                           'at "outputs" > "/hsfaults/a.pkl": expected an object, found a string'),
    "params a list": (details(outputs={"/hsfaults/a.pkl": {"params": []}}),
                      'at "outputs" > "/hsfaults/a.pkl" > "params": expected an object'),
    "fingerprint a number": (details(outputs={"/hsfaults/a.pkl": {"fingerprint": 3}}),
                             '> "fingerprint": expected a string, found a number'),
    "fingerprint parts a list": (details(fingerprints={"ab": []}),
                                 'at "fingerprints" > "ab": expected an object, found a list'),
    "another version": (details(version=2), "version 2, this luisy reads version 1"),
    "not UTF-8": (b"\xfe\xff", "not UTF-8 text"),
    "not JSON": (b"{version: 1}", "not valid JSON"),
}


#: per damaged file: its cases, and what its error says moving it away costs
DAMAGED = [pytest.param(name, content, says, cost, id=f"{name}: {case}")
           for name, cases, cost in [
               (".luisy.hash", HASH_CASES, "reruns this project's tasks"),
               (".luisy.keys.json", DETAILS_CASES, "it only explains why tasks rerun")]
           for case, (content, says) in cases.items()]


@pytest.mark.parametrize("name, content, says, cost", DAMAGED)
def test_a_damaged_store_file_is_refused_and_left_as_it_is(working_dir, name, content, says,
                                                           cost):
    folder = made_by_hand(working_dir)
    (folder / name).write_bytes(content)
    before = snapshot(working_dir)

    error = assert_refused(Whole(), folder / name, says, "move it away")

    assert cost in str(error)
    assert snapshot(working_dir) == before


def test_a_details_file_cut_short_is_refused(working_dir):
    folder = made_by_hand(working_dir)
    whole = (folder / ".luisy.keys.json").read_bytes()
    (folder / ".luisy.keys.json").write_bytes(whole[:-40])
    before = snapshot(working_dir)

    assert_refused(Whole(), folder / ".luisy.keys.json", "not valid JSON")
    assert snapshot(working_dir) == before


def test_a_details_file_replaced_after_it_was_read_is_read_again(working_dir):
    folder = made_by_hand(working_dir)
    assert luisy.plan(Whole()).steps[Whole()].decision is Decision.COMPLETE
    damaged = folder / "elsewhere.json"
    damaged.write_bytes(b"[]")
    os.replace(damaged, folder / ".luisy.keys.json")  # as a restore from a copy does

    assert_refused(Whole(), folder / ".luisy.keys.json", "found a list")


# ---------------------------------------------------------------------- .luisy.journal
def journal_of_two(working_dir: Path) -> tuple[Path, list[bytes]]:
    """Both pieces' outputs, their keys recorded in the journal as a build commits them (not
    folded yet: a build that was killed before its end); the journal's path and its entries,
    each without its newline (each record of a fresh store: fingerprint, then key)."""
    pieces = [Piece(i=1), Piece(i=2)]
    for piece in pieces:
        piece.output().write({"i": piece.i})
    folder = working_dir / PROJECT
    for piece in pieces:
        HashStore(str(folder)).record(record_of(piece, current_key(piece)))
    assert all(piece.complete() for piece in pieces)
    journal = folder / ".luisy.journal"
    entries = journal.read_bytes().split(b"\n")
    assert entries[-1] == b"" and len(entries) == 5
    assert b"Piece_i=1" in entries[1] and b"Piece_i=2" in entries[3]
    return journal, entries[:-1]


def decisions(*tasks: luisy.Task) -> list[str]:
    """How a plan of each task decides it, and why."""
    steps = [luisy.plan(task).steps[task] for task in tasks]
    return [f"{step.task}: {step.decision.value} ({step.reason})" for step in steps]


def test_an_entry_cut_short_at_the_journals_end_is_not_applied(working_dir):
    journal, entries = journal_of_two(working_dir)
    entries[3] = entries[3][:-20]  # the last record cut short by a kill mid-write
    cut = b"".join(e + b"\n" for e in entries[:3]) + entries[3]
    journal.write_bytes(cut)

    assert decisions(Piece(i=1), Piece(i=2)) == [
        "Piece(i=1): complete (up to date)", "Piece(i=2): run (no recorded key)"]
    assert journal.read_bytes() == cut


def test_an_entry_cut_short_by_a_kill_does_not_take_the_next_one_with_it(working_dir):
    # the first build was killed while appending the key of Piece(i=1), a second build
    # appended after it
    journal, entries = journal_of_two(working_dir)
    journal.write_bytes(entries[0] + b"\n" + entries[1][:-15]
                        + b"".join(e + b"\n" for e in entries[2:]))

    assert decisions(Piece(i=1), Piece(i=2)) == [
        "Piece(i=1): run (no recorded key)", "Piece(i=2): complete (up to date)"]
    assert Piece(i=2).complete() and not Piece(i=1).complete()


JOURNAL_CASES = {
    "not JSON": (b"{not json}", "not valid JSON"),
    "not UTF-8": (b'{"r":"\xff"}', "not UTF-8 text"),
    "a list": (b"[1, 2]", "expected a journal entry, found a list"),
    "null": (b"null", "expected a journal entry, found null"),
    "no output": (b'{"k": "ab"}', 'expected a journal entry, found one without "r"'),
    "key a number": (b'{"r": "/hsfaults/a.pkl", "k": 5}',
                     'at "k": expected a string or null, found a number'),
    "details a list": (b'{"r": "/hsfaults/a.pkl", "k": "ab", "d": []}',
                       'at "d": expected an object, found a list'),
    "fingerprint parts missing": (b'{"f": "ab"}', 'found one without "p"'),
    "fingerprint code a list": (b'{"f": "ab", "p": {"code": []}}',
                                'at "p" > "code": expected an object, found a list'),
}


@pytest.mark.parametrize("line", [2, 4], ids=["a line in the middle", "the last line"])
@pytest.mark.parametrize("content, says", JOURNAL_CASES.values(), ids=JOURNAL_CASES.keys())
def test_a_damaged_journal_entry_is_refused_with_its_line(working_dir, content, says, line):
    journal, entries = journal_of_two(working_dir)
    entries[line - 1] = RS + content  # a whole entry, its newline there: not cut short
    journal.write_bytes(b"".join(e + b"\n" for e in entries))
    before = snapshot(working_dir)

    error = assert_refused(Piece(i=1), journal, f": line {line}: ", says, "move it and")

    assert ".luisy.hash away" in str(error)
    assert snapshot(working_dir) == before


@pytest.mark.parametrize("where", [1, 3], ids=["first", "between entries"])
def test_a_journal_line_that_is_no_entry_is_refused(working_dir, where):
    # a line added by hand, or a journal luisy did not write
    journal, entries = journal_of_two(working_dir)
    entries.insert(where - 1, b'{"r": "/hsfaults/interim/Piece_i=1.pkl"}')
    journal.write_bytes(b"".join(e + b"\n" for e in entries))
    before = snapshot(working_dir)

    says = "text before its first entry" if where == 1 else "text outside an entry"
    assert_refused(Piece(i=2), journal, f": line {where}: {says}")
    assert snapshot(working_dir) == before


def test_recording_a_key_by_hand_never_folds_away_a_damaged_journal(working_dir):
    journal, entries = journal_of_two(working_dir)
    entries[0] = RS + b"[]"
    journal.write_bytes(b"".join(e + b"\n" for e in entries))
    before = snapshot(working_dir)

    with pytest.raises(HashStoreError, match="line 1: expected a journal entry"):
        Piece(i=3).run()  # a write by hand records its key and folds the journal

    after = snapshot(working_dir)
    assert after.pop(f"{PROJECT}/interim/Piece_i=3.pkl")  # the output it was asked to write
    assert after == before


# ------------------------------------------------------------------ what stays as it was
def test_no_files_are_an_empty_store(working_dir):
    assert decisions(Piece(), Whole()) == ["Piece(i=1): run (no output)",
                                           "Whole(i=1): run (no output)"]
    assert not (working_dir / PROJECT).exists()


def test_entries_without_the_leading_slash_and_null_keys_are_read(working_dir):
    folder = made_by_hand(working_dir)
    hashes = json.loads((folder / ".luisy.hash").read_text())
    # luisy 2 before 1.x's spelling wrote entries without "/"; 1.x's cloud sync wrote null
    (folder / ".luisy.hash").write_text(json.dumps({
        "hsfaults/interim/Piece_i=1.pkl": hashes["/hsfaults/interim/Piece_i=1.pkl"],
        "/hsfaults/final/Whole.pkl": None}))

    assert decisions(Piece(), Whole()) == ["Piece(i=1): complete (up to date)",
                                           "Whole(i=1): run (no recorded key)"]


# --------------------------------------------------------------------- the CLI, a build
def test_the_cli_refuses_a_damaged_store_in_one_line(working_dir, tmp_path, monkeypatch,
                                                     capsys):
    (tmp_path / "hsmod.py").write_text(
        "import luisy\n\n\n"
        "@luisy.project_name('hscli')\n"
        "@luisy.interim\n"
        "class Made(luisy.Task):\n"
        "    def run(self):\n"
        "        self.write(1)\n")
    (working_dir / "hscli").mkdir()
    (working_dir / "hscli" / ".luisy.hash").write_bytes(b"null")
    monkeypatch.chdir(tmp_path)
    before = snapshot(working_dir)

    code = cli.main(["--module", "hsmod", "Made", "--working-dir", str(working_dir),
                     "--no-ask"])

    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.count("\n") == 1 and captured.err.startswith(
        f"luisy: {working_dir / 'hscli' / '.luisy.hash'}: expected a JSON object of output "
        "-> key, found null; luisy changed nothing")
    assert "Traceback" not in captured.err + captured.out
    assert snapshot(working_dir) == before


@pytest.mark.prefect
def test_a_build_raises_before_running_anything_and_goes_on_once_restored(
        working_dir, prefect_server):
    summary = luisy.build(Whole())
    assert summary.ok and summary.completed == {Piece(), Whole()}
    folder = working_dir / PROJECT
    for name, damage in ((".luisy.hash", b"null"), (".luisy.keys.json", b"[]")):
        good = (folder / name).read_bytes()
        (folder / name).write_bytes(damage)
        before = snapshot(working_dir)

        with pytest.raises(HashStoreError) as caught:
            luisy.build(Whole(), force="all")  # would rerun both: nothing may run
        assert str(caught.value).startswith(f"{folder / name}: ")

        assert snapshot(working_dir) == before
        (folder / name).write_bytes(good)
        again = luisy.build(Whole())
        assert again.ok and again.already_done == {Piece(), Whole()} and not again.completed
