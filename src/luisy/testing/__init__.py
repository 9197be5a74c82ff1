"""Helpers for testing luisy pipelines.

- :class:`LuisyTestCase` (luisy 1.x) and :func:`run_isolated`: run a pipeline with given
  outputs as real Prefect flows in a temporary working dir;
- the ``luisy_pipeline`` pytest fixture (:mod:`luisy.testing.pytest_plugin`) for the same;
- :func:`stale_after`: which tasks would rerun if this code changed;
- :class:`PrefectServer`: a throwaway Prefect server for test sessions.

None of these import Prefect until they run something, so importing this package before
setting Prefect's environment is safe.
"""
from luisy.testing.case import SUMMARY_KEYS, LuisyTestCase, PipelineRun, run_isolated
from luisy.testing.server import PrefectServer, free_port
from luisy.testing.stale import ANY_CHANGE, StaleTasks, stale_after

__all__ = ["ANY_CHANGE", "SUMMARY_KEYS", "LuisyTestCase", "PipelineRun", "PrefectServer",
           "StaleTasks", "free_port", "run_isolated", "stale_after"]
