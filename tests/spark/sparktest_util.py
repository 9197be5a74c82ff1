"""Helpers of the Spark tests that are not fixtures."""
from __future__ import annotations

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run_python(code: str, timeout: float = 120, **env: str) -> str:
    """Run ``code`` in a new interpreter (this folder importable); its stdout, or fail."""
    repo = os.path.dirname(os.path.dirname(HERE))
    path = os.pathsep.join(filter(None, [HERE, repo, os.environ.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env,
                          "PYTHONPATH": path}, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"subprocess failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout
