"""pytest fixtures for luisy pipelines (registered as the ``luisy`` pytest plugin).

``luisy_pipeline.run(task, existing_outputs=[(task, obj), ...])`` runs a pipeline exactly as
:class:`~luisy.testing.LuisyTestCase` does (real Prefect flows, a temporary working dir) and
returns a :class:`~luisy.testing.PipelineRun`, which reads like luisy 1.x's summary dict::

    def test_report(luisy_pipeline):
        run = luisy_pipeline.run(SalesReport(), existing_outputs=[(RawSales(month=m), df)])
        assert run.ok and SalesReport() in run["completed"]
        assert run.output["currency"] == "EUR"

Importing this module costs nothing: Prefect is imported when a fixture is first used.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from luisy.tasks.base import Task
    from luisy.testing.case import ExistingOutputs, PipelineRun


@pytest.fixture(scope="session")
def luisy_prefect_api() -> str:
    """The URL of a live Prefect API for this session (a local server started if needed)."""
    from luisy.testing.case import ensure_prefect_api

    return ensure_prefect_api()


class PipelineRunner:
    """What ``luisy_pipeline`` gives a test; ``runs`` keeps every run of the test."""

    def __init__(self) -> None:
        self.runs: list[PipelineRun] = []

    def run(self, task: Task, existing_outputs: ExistingOutputs | None = None,
            workers: int = 1) -> PipelineRun:
        from luisy.testing.case import run_isolated

        result = run_isolated(task, existing_outputs, workers=workers)
        self.runs.append(result)
        return result


@pytest.fixture
def luisy_pipeline(luisy_prefect_api: str) -> Iterator[PipelineRunner]:
    """Run pipelines in isolation: ``luisy_pipeline.run(task, existing_outputs=...)``."""
    yield PipelineRunner()
