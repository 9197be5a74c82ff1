"""Helpers for testing luisy pipelines.

- :class:`LuisyTestCase` (luisy 1.x) and :func:`run_isolated`: run a pipeline with given
  outputs as real Prefect flows in a temporary working dir;
- luisy 1.x's functions (:mod:`luisy.testing.compat`): :func:`create_testing_config`,
  :func:`debug_run`, :func:`create_file`, :func:`get_all_dependencies`, and
  :class:`SparkMock`, 1.x's fake Spark session, on the embedded Spark engine;
- the ``luisy_pipeline`` pytest fixture (:mod:`luisy.testing.pytest_plugin`) for the same;
- :func:`stale_after`: which tasks would rerun if this code changed;
- :class:`PrefectServer`: a throwaway Prefect server for test sessions.

None of these import Prefect or pyspark until they run something, so importing this package
before setting Prefect's environment is safe.
"""
from luisy.testing.case import (
    LUISY1_WORKING_DIR,
    SUMMARY_KEYS,
    GivenOutput,
    LuisyTestCase,
    PipelineRun,
    run_isolated,
)
from luisy.testing.compat import (
    DebugRunResult,
    StatusCode,
    create_file,
    create_testing_config,
    debug_run,
    get_all_dependencies,
)
from luisy.testing.server import PrefectServer, free_port
from luisy.testing.spark_mock import SparkMock, TableNotFoundError
from luisy.testing.stale import ANY_CHANGE, StaleTasks, stale_after

__all__ = ["ANY_CHANGE", "LUISY1_WORKING_DIR", "SUMMARY_KEYS", "DebugRunResult", "GivenOutput",
           "LuisyTestCase", "PipelineRun", "PrefectServer", "SparkMock", "StaleTasks",
           "StatusCode", "TableNotFoundError", "create_file", "create_testing_config",
           "debug_run", "free_port", "get_all_dependencies", "run_isolated", "stale_after"]
