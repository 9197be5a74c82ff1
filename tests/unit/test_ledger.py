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
