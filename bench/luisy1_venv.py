"""The real luisy 1.4.7, in its own venv (``bench/.venv-luisy1``, git-ignored): what the
benchmarks compare against and what tests/integration/test_luisy1_project.py takes
``.luisy.hash`` files from. Made on first use (a few minutes: pyspark is among 1.x's
dependencies), then reused."""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
L1_VENV = os.path.join(HERE, ".venv-luisy1")
L1_PYTHON = os.path.join(L1_VENV, "bin", "python")
#: pipdeptree<2.20: 1.x hashing parses its --json-tree; grpcio(-status): 1.x's testing module
#: imports pyspark's connect errors; pandas<3: with pandas 3, 1.x's import table reads a missing
#: ``as`` name as NaN instead of None, so it walks imported names as module variables (whole
#: modules hashed; ``from pkg.mod import Name`` raises "Node 'Name' was not found")
L1_REQUIREMENTS = ["luisy==1.4.7", "pipdeptree<2.20", "grpcio", "grpcio-status", "pandas<3"]
_CHECK = ("import luisy.cli, luigi, pipdeptree, grpc, pandas, importlib.metadata as m; "
          "assert m.version('luisy') == '1.4.7' and int(pandas.__version__[0]) < 3")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def pip_install(python: str, *args: str) -> None:
    cmd = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        noise = "WARNING: Location"
        out = "\n".join(line for line in (proc.stdout + proc.stderr).splitlines()
                        if not line.startswith(noise))
        raise RuntimeError(f"{shlex.join(cmd)} failed:\n{out[-4000:]}")


def ensure_luisy1_venv() -> str:
    """The venv's python, the venv made or completed first if needed."""
    if os.path.exists(L1_PYTHON):
        if subprocess.run([L1_PYTHON, "-c", _CHECK], capture_output=True).returncode == 0:
            return L1_PYTHON
        log(f"completing {L1_VENV}")
    else:
        log(f"creating {L1_VENV} (luisy 1.4.7 from PyPI; a few minutes)")
        subprocess.run([sys.executable, "-m", "venv", L1_VENV], check=True)
    pip_install(L1_PYTHON, *L1_REQUIREMENTS)
    subprocess.run([L1_PYTHON, "-c", _CHECK], check=True)
    return L1_PYTHON
