"""The plan and the ledger against stores in memory: decisions and records without key files."""
from __future__ import annotations

import pytest

import luisy
from luisy.cache import Category, HashStores, Ledger, MemoryStore
from luisy.errors import OutputNotWrittenError
from luisy.planner import Decision, make_plan


@luisy.project_name("ledger")
@luisy.interim
class Writes(luisy.Task):
    mode = luisy.Parameter(default="write")

    def run(self):
        if self.mode in ("write", "write_then_raise"):
            self.write({"mode": self.mode})
        if self.mode == "write_then_raise":
            raise RuntimeError("after the write")


def _run(task, stores):
    plan = make_plan(task, stores)
    step = plan.steps[task]
    return Ledger(stores).run(task, step.record, task.run), plan


def test_a_run_records_the_key_only_after_it_wrote_its_output():
    stores = HashStores(MemoryStore)
    task = Writes()
    ran, plan = _run(task, stores)
    assert ran and make_plan(task, stores).steps[task].decision is Decision.COMPLETE
    assert plan.steps[task].has(Category.NO_OUTPUT)


def test_a_second_run_of_a_complete_output_does_nothing():
    stores = HashStores(MemoryStore)
    _run(Writes(), stores)
    ran, _ = _run(Writes(), stores)
    assert not ran


def test_a_run_that_writes_nothing_fails_and_leaves_no_key():
    stores = HashStores(MemoryStore)
    Writes(mode="nothing").output().write({"old": True})  # an output from before, no key
    with pytest.raises(OutputNotWrittenError, match=r"Writes\(mode=nothing\): run\(\) finished"):
        _run(Writes(mode="nothing"), stores)
    step = make_plan(Writes(mode="nothing"), stores).steps[Writes(mode="nothing")]
    assert step.decision is Decision.RUN and step.has(Category.NO_RECORD)


def test_a_run_that_raises_after_writing_leaves_no_key():
    stores = HashStores(MemoryStore)
    task = Writes(mode="write_then_raise")
    with pytest.raises(RuntimeError, match="after the write"):
        _run(task, stores)
    assert task.output().exists()
    step = make_plan(task, stores).steps[task]
    assert step.decision is Decision.RUN and step.has(Category.NO_RECORD)


def test_leftovers_of_killed_writers_are_removed_by_the_next_run_of_their_output():
    import os

    stores = HashStores(MemoryStore)
    task, other = Writes(), Writes(mode="nothing")
    folder, name = os.path.split(task.output().path)
    os.makedirs(folder)
    dead_file = os.path.join(folder, f".luisy-tmp-deadbeef-0-{name}")
    dead_folder = os.path.join(folder, f".luisy-tmp-deadbeef-old-1-{name}")
    other_name = os.path.basename(other.output().path)
    not_ours = os.path.join(folder, f".luisy-tmp-deadbeef-2-{other_name}")
    open(dead_file, "w").close()
    os.makedirs(dead_folder)
    open(not_ours, "w").close()
    _run(task, stores)
    assert not os.path.exists(dead_file) and not os.path.exists(dead_folder)
    assert os.path.exists(not_ours)  # another output's: only a writer holding its lock may


def test_compacting_the_store_removes_its_own_leftovers(tmp_path):

    from luisy.cache import HashStore, Record

    store = HashStore(str(tmp_path))
    store.record(Record(str(tmp_path), "a.pkl", "k1", {"fingerprint": "f"}, {"code": {}}))
    dead = tmp_path / ".luisy-tmp-deadbeef-3-.luisy.hash"
    dead.write_text("{")
    store.compact()
    assert not dead.exists()
    assert HashStore(str(tmp_path)).get("a.pkl") == "k1"
    assert not (tmp_path / ".luisy.journal").exists()  # folded into the hash file


def test_a_record_written_while_another_process_compacts_is_never_lost(tmp_path):
    # two stores on one folder stand for two builds: one keeps appending (its journal open)
    # while the other folds and seals the journal
    from luisy.cache import HashStore, Record

    def rec(rel, key):
        return Record(str(tmp_path), rel, key, {"fingerprint": "f"}, {"code": {}})

    writer, compactor = HashStore(str(tmp_path)), HashStore(str(tmp_path))
    writer.record(rec("a.pkl", "k1"))
    compactor.record(rec("b.pkl", "k2"))
    compactor.compact()  # seals the journal writer still holds open
    writer.record(rec("c.pkl", "k3"))  # lands in the sealed file first, then in the live one
    writer.forget("a.pkl")
    fresh = HashStore(str(tmp_path))
    assert (fresh.get("a.pkl"), fresh.get("b.pkl"), fresh.get("c.pkl")) == (None, "k2", "k3")
    writer.refresh()
    assert writer.get("b.pkl") == "k2"
    writer.compact()
    again = HashStore(str(tmp_path))
    assert (again.get("a.pkl"), again.get("b.pkl"), again.get("c.pkl")) == (None, "k2", "k3")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".sealed")]
