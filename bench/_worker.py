"""One measurement in a fresh process: ``python bench/_worker.py SPEC.json``.

Run by ``bench/run_all.py`` with the luisy 2 venv's python (sides ``luisy2``, ``prefect`` and
``prefect-cached``) or the luisy 1.4.7 venv's python (side ``luisy1``). Imports happen before
the clock starts; the clock runs around the call being measured (``build(...)``, the flow,
``make_plan``, the fingerprints) and the result goes to ``spec["result"]`` as JSON. The caller
times the whole process separately.

Ops (``spec["op"]``):

- ``build``     luisy 2 / luisy 1 ``build(Root(**params), workers=1)``;
- ``flow``      the hand-written Prefect flow over a task list (``spec["tasks"]``: output stem and
                dependency stems; with ``skip_existing`` it submits only tasks whose file is
                missing, as a hand-written flow would on a rebuild);
- ``flow`` of side ``prefect-cached``: the same task list as native Prefect tasks cached by
                Prefect (``benchpipe.native``), every task submitted on every build, results
                persisted under ``spec["result_storage"]``;
- ``bare``      ``n`` no-op Prefect tasks in one flow (submitted, or called in the flow);
- ``plan``      luisy 2 ``make_plan``; luisy 1: its hashing pass (dry run) and luigi's scheduling
                pass (``Worker.add``, which checks ``complete()`` of every task) separately;
- ``fingerprint`` the code hashes of 200 task classes in one process, cold (luisy 2: and warm).
"""
from __future__ import annotations

import importlib
import json
import os
import pickle
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

PAYLOAD = {"value": 1}


def _root(spec: dict) -> Any:
    module = importlib.import_module(spec["module"])
    return getattr(module, spec["cls"])(**spec.get("params", {}))


def _maybe_profile(spec: dict, fn: Any) -> Any:
    path = spec.get("profile")
    if not path:
        return fn()
    import cProfile

    prof = cProfile.Profile()
    try:
        return prof.runcall(fn)
    finally:
        prof.dump_stats(path)


# ------------------------------------------------------------------------------ luisy 2
def _apply_patches(names: list[str]) -> None:
    """Experiments of ``bench/profile_overhead.py``: switch one luisy 2 cost off at a time
    (monkeypatched here; nothing in src/ changes)."""
    if not names:
        return
    import logging

    import luisy.artifacts
    import luisy.logs
    import luisy.runner

    for name in names:
        if name == "no_task_log":  # the runner's per-task "<task>: <reason>" info line
            null = logging.getLogger("luisy.bench.null")
            null.disabled = True
            luisy.logs.task_logger = lambda family, _null=null: _null
        elif name == "no_artifacts":  # plan, DAG and outputs artifacts of the flow run
            luisy.artifacts.publish_plan = lambda plan: None
            luisy.artifacts.publish_outputs = lambda plan, summary: None
        elif name == "submit_all":  # submit every ready task at once, as a hand-written flow
            init = luisy.runner._Scheduler.__init__

            def patched(self: Any, *args: Any, _init: Any = init, **kwargs: Any) -> None:
                _init(self, *args, **kwargs)
                self.workers = 10**9  # the thread pool still has `workers` threads

            luisy.runner._Scheduler.__init__ = patched
        elif name == "quiet_console":  # what the luisy CLI does; Prefect's state lines
            luisy.logs.quiet_prefect_console()
        else:
            raise ValueError(f"unknown patch {name!r}")


def l2_build(spec: dict) -> dict:
    # imported before the clock starts, as the hand-written flow imports them before its own:
    # luisy imports Prefect's flow and task modules (~0.12 s) only when a build runs a flow
    from prefect import flow, task  # noqa: F401

    import luisy
    import luisy.runner

    _apply_patches(spec.get("patches", []))
    root = _root(spec)
    start = time.perf_counter()
    extra = spec.get("build_kwargs", {})  # e.g. group_size, where build() takes it
    summary = _maybe_profile(spec, lambda: luisy.build(root, workers=spec.get("workers", 1),
                                                       working_dir=spec["workdir"], **extra))
    seconds = time.perf_counter() - start
    if not summary.ok:
        raise RuntimeError(f"luisy 2 build failed: {summary}")
    ran = len(summary.completed)
    # grouped builds make fewer task runs than tasks: the caller then settles on idleness only
    return {"seconds": seconds, "ran": ran, "task_runs": 0 if extra else ran,
            "tasks": len(summary.plan.steps)}


def l2_plan(spec: dict) -> dict:
    import luisy
    from luisy.planner import make_plan

    luisy.Config().update({"working_dir": spec["workdir"]})
    root = _root(spec)
    start = time.perf_counter()
    plan = _maybe_profile(spec, lambda: make_plan(root))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "tasks": len(plan.steps), "counts": plan.counts()}


def l2_fingerprint(spec: dict) -> dict:
    from luisy.cache import clear_cache, fingerprint

    classes = [getattr(importlib.import_module(m), c) for m, c in spec["classes"]]
    clear_cache()
    start = time.perf_counter()
    digests = _maybe_profile(spec, lambda: [fingerprint(cls).digest for cls in classes])
    cold = time.perf_counter() - start
    start = time.perf_counter()
    again = [fingerprint(cls).digest for cls in classes]
    warm = time.perf_counter() - start
    assert again == digests
    return {"seconds": cold, "warm_seconds": warm, "classes": len(set(digests))}


# ------------------------------------------------------------------------------ prefect
def _task_options() -> dict:
    from prefect.cache_policies import NO_CACHE

    # what luisy's runner gives each task (see luisy.runner._Scheduler.prefect_task)
    return dict(retries=0, retry_delay_seconds=0, timeout_seconds=None, tags=[],
                cache_policy=NO_CACHE, persist_result=False, log_prints=True)


def asset_event(path: str, name: str, inputs: list[str]) -> None:
    """The asset event luisy sends for an output its task run wrote (luisy.assets): the same
    resource, related resources and payload shape, sent by a hand-written task, so that
    Prefect's cost of an asset event is on both sides and what a ratio shows is luisy's own."""
    from prefect.events import emit_event

    related = [{"prefect.resource.id": "file://" + p, "prefect.resource.role": "asset"}
               for p in inputs]
    related.append({"prefect.resource.id": "luisy",
                    "prefect.resource.role": "asset-materialized-by"})
    emit_event(event="prefect.asset.materialization.succeeded",
               resource={"prefect.resource.id": "file://" + path}, related=related,
               payload={"task": name, "luisy_key": "0" * 64})


def prefect_flow(spec: dict) -> dict:
    """Hand-written flow: one task run per output file, upstream runs as ``wait_for``; with
    ``assets``, each task sends the asset event luisy sends for that output."""
    if "quiet_console" in spec.get("patches", []):
        from luisy.logs import quiet_prefect_console

        quiet_prefect_console()
    from prefect import flow, task
    from prefect.futures import wait
    from prefect.task_runners import ThreadPoolTaskRunner

    outdir = spec["outdir"]
    os.makedirs(outdir, exist_ok=True)
    tasks: list[tuple[str, list[str]]] = spec["tasks"]
    wrapper = spec.get("wrapper")  # name of a final task that only waits (the WrapperTask)
    inputs = {stem: [os.path.join(outdir, f"{d}.pkl") for d in deps] for stem, deps in tasks}

    @task(name="Work", task_run_name="{stem}", **_task_options())
    def work(stem: str) -> None:
        path = os.path.join(outdir, f"{stem}.pkl")
        with open(path, "wb") as fh:
            pickle.dump(PAYLOAD, fh, protocol=pickle.HIGHEST_PROTOCOL)
        if spec.get("assets"):
            asset_event(path, stem, inputs[stem])

    @task(name="Wrapper", task_run_name="{name}", **_task_options())
    def wrap(name: str) -> None:
        return None

    @flow(name="HandWritten", task_runner=ThreadPoolTaskRunner(max_workers=spec.get("workers", 1)),
          persist_result=False, validate_parameters=False, log_prints=False)
    def hand_written() -> int:
        todo = tasks
        if spec.get("skip_existing"):
            todo = [(s, d) for s, d in tasks
                    if not os.path.exists(os.path.join(outdir, f"{s}.pkl"))]
        futures: dict[str, Any] = {}
        for stem, deps in todo:
            futures[stem] = work.submit(stem=stem,
                                        wait_for=[futures[d] for d in deps if d in futures])
        submitted = len(futures)
        if wrapper and (futures or not spec.get("skip_existing")):
            futures[wrapper] = wrap.submit(name=wrapper, wait_for=list(futures.values()))
        wait(list(futures.values()))
        for fut in futures.values():
            if not fut.state.is_completed():
                raise RuntimeError(f"task run failed: {fut.state}")
        return len(futures) if submitted or wrapper else 0

    seconds, runs = _timed_run(hand_written, "hand-written flow")
    return {"seconds": seconds, "ran": runs, "task_runs": runs}


def _timed_run(flow_fn: Any, label: str) -> tuple[float, Any]:
    """Seconds one run of the flow takes, and its result; a failed run stops the bench."""
    start = time.perf_counter()
    state = flow_fn(return_state=True)
    seconds = time.perf_counter() - start
    if not state.is_completed():
        raise RuntimeError(f"{label} failed: {state}")
    return seconds, state.result()


def prefect_cached_flow(spec: dict) -> dict:
    """A flow as Prefect's caching docs would have it written: every task submitted, its
    upstream futures as inputs, and Prefect deciding from its persisted cache records (key
    ``INPUTS + TASK_SOURCE``) which task runs end ``Cached``. The records live in the build's
    working dir, so a fresh process finds the previous build's and a fresh dir starts empty."""
    from pathlib import Path

    from prefect import flow
    from prefect.futures import wait
    from prefect.task_runners import ThreadPoolTaskRunner

    native = importlib.import_module(spec["module"])
    outdir = spec["outdir"]
    os.makedirs(outdir, exist_ok=True)
    storage = Path(spec["result_storage"])
    tasks: list[tuple[str, list[str]]] = spec["tasks"]
    wrapper = spec.get("wrapper")
    # the task of an output stem is the one named after its family: Leaf_i=3 -> native.Leaf
    families = {stem.split("_", 1)[0] for stem, _ in tasks} | ({"Wrapper"} if wrapper else set())
    by_family = {f: getattr(native, f).with_options(result_storage=storage) for f in families}

    @flow(name="NativeCached",
          task_runner=ThreadPoolTaskRunner(max_workers=spec.get("workers", 1)),
          persist_result=False, validate_parameters=False, log_prints=False)
    def native_cached() -> dict[str, str]:  # output stem -> state name
        futures: dict[str, Any] = {}
        for stem, deps in tasks:
            futures[stem] = by_family[stem.split("_", 1)[0]].submit(
                outdir=outdir, stem=stem, upstream=[futures[d] for d in deps])
        if wrapper:
            futures[wrapper] = by_family["Wrapper"].submit(stem=wrapper,
                                                           wait_for=list(futures.values()))
        wait(list(futures.values()))
        for fut in futures.values():
            if not fut.state.is_completed():
                raise RuntimeError(f"task run failed: {fut.state}")
        return {stem: fut.state.name for stem, fut in futures.items()}

    seconds, states = _timed_run(native_cached, "native Prefect flow")
    ran = sum(name != "Cached" for name in states.values())
    return {"seconds": seconds, "ran": ran, "cached": len(states) - ran,
            "task_runs": len(states)}


def prefect_bare(spec: dict) -> dict:
    """``n`` no-op tasks in one flow: Prefect's own cost of a task run."""
    from prefect import flow, task
    from prefect.futures import wait
    from prefect.task_runners import ThreadPoolTaskRunner

    n = spec["n"]
    mode = spec.get("mode", "submit")

    @task(name="Noop", **_task_options())
    def noop(i: int) -> None:
        return None

    @flow(name="Bare", task_runner=ThreadPoolTaskRunner(max_workers=1), persist_result=False,
          validate_parameters=False, log_prints=False)
    def bare() -> None:
        if mode == "submit":
            wait([noop.submit(i=i) for i in range(n)])
        else:
            for i in range(n):
                noop(i=i)

    @flow(name="Empty", persist_result=False, validate_parameters=False, log_prints=False)
    def empty() -> None:
        return None

    start = time.perf_counter()
    empty()
    empty_s = time.perf_counter() - start
    start = time.perf_counter()
    state = bare(return_state=True)
    seconds = time.perf_counter() - start
    if not state.is_completed():
        raise RuntimeError(f"bare flow failed: {state}")
    return {"seconds": seconds, "empty_flow_seconds": empty_s, "task_runs": n, "ran": n}


# ------------------------------------------------------------------------------ luisy 1
def l1_build(spec: dict) -> dict:
    from luisy.cli import build

    root = _root(spec)
    start = time.perf_counter()
    coordinator = _maybe_profile(spec, lambda: build(root, workers=1))
    seconds = time.perf_counter() - start
    sets = coordinator.tasks_set
    if sets.get("failed"):
        raise RuntimeError(f"luisy 1 build failed: {sets['failed']}")
    return {"seconds": seconds, "ran": len(sets.get("completed", ())),
            "already_done": len(sets.get("already_done", ())), "tasks": len(coordinator.tasks)}


def l1_plan(spec: dict) -> dict:
    """luisy 1.x decides in two passes: its hashes (graph walk, code hashes, .luisy.hash), then
    luigi's scheduling (``complete()`` of every task); both run before any task does."""
    import luigi

    from luisy.cli import build

    root = _root(spec)
    start = time.perf_counter()
    coordinator = build(root, workers=1, dry_run=True)
    hashing = time.perf_counter() - start
    start = time.perf_counter()
    scheduler = luigi.scheduler.Scheduler()
    with luigi.worker.Worker(scheduler=scheduler, worker_processes=1) as worker:
        worker.add(root)
    scheduling = time.perf_counter() - start
    return {"seconds": hashing + scheduling, "hashing_seconds": hashing,
            "scheduling_seconds": scheduling, "tasks": len(coordinator.tasks)}


def l1_fingerprint(spec: dict) -> dict:
    from luisy.code_inspection import create_hashes

    classes = [getattr(importlib.import_module(m), c) for m, c in spec["classes"]]
    start = time.perf_counter()
    hashes = _maybe_profile(spec, lambda: create_hashes(classes))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "classes": len(set(hashes))}


OPS = {
    ("luisy2", "build"): l2_build,
    ("luisy2", "plan"): l2_plan,
    ("luisy2", "fingerprint"): l2_fingerprint,
    ("prefect", "flow"): prefect_flow,
    ("prefect", "bare"): prefect_bare,
    ("prefect-cached", "flow"): prefect_cached_flow,
    ("luisy1", "build"): l1_build,
    ("luisy1", "plan"): l1_plan,
    ("luisy1", "fingerprint"): l1_fingerprint,
}


@contextmanager
def heartbeats(on: bool) -> Iterator[None]:
    """Prefect's flow-run heartbeats on (its default) or off, around a measurement.

    The heartbeat thread sleeps in 1 s steps from the flow run's start and is joined at its
    end, so with it every flow run lasts a whole number of seconds plus ~0.1 s: the same
    rounding on every Prefect side, which decides the ratio of short runs. No environment
    value means "off" (None), hence a setting around the call.
    """
    if on:
        yield
        return
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as fh:
        spec = json.load(fh)
    with heartbeats(spec["side"] == "luisy1" or spec.get("heartbeats", True)):
        result = OPS[(spec["side"], spec["op"])](spec)
    with open(spec["result"], "w", encoding="utf-8") as fh:
        json.dump(result, fh)


if __name__ == "__main__":
    main()
