"""Databricks Connect cannot share this venv (it bundles its own pyspark): its tests run in a
venv of their own, built and run by .ci/databricks_job.sh, here as one real subprocess."""
import os
import re
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_databricks_mode_in_its_own_venv():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    proc = subprocess.run(
        ["bash", os.path.join(REPO, ".ci", "databricks_job.sh"), "-q"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=1200,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    assert re.search(r"\b\d+ passed\b", output) and not re.search(r"\b\d+ failed\b", output)
