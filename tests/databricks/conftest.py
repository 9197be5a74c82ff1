"""Databricks Connect tests run only in their own venv (``bash .ci/databricks_job.sh``).

databricks-connect ships its own ``pyspark`` and cannot share the main venv, so where it is
missing this folder is not collected at all (rather than reported as skipped tests).
"""
import importlib.util

try:
    HAVE_DATABRICKS_CONNECT = importlib.util.find_spec("databricks.connect") is not None
except ModuleNotFoundError:  # no "databricks" package at all
    HAVE_DATABRICKS_CONNECT = False

collect_ignore_glob = [] if HAVE_DATABRICKS_CONNECT else ["test_*.py"]
