#!/usr/bin/env bash
# Databricks Connect ships its own copy of `pyspark`, which cannot share a venv with the real
# pyspark of the main env, so its tests run in a venv of their own.
#
#   bash .ci/databricks_job.sh            # venv in $LUISY_DBC_VENV (default /tmp/luisy-dbc-venv)
#
# The venv is reused when it exists; pip then only checks the pins.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${LUISY_DBC_VENV:-/tmp/luisy-dbc-venv}"
PYTHON="${PYTHON:-python3}"
start=$(date +%s)

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "databricks-connect<=16.1.7" "numpy<2" "pandas<3" "pyarrow<19" "pysail>=0.7,<0.8" \
    "prefect==3.8.8" "fastapi<0.140" "filelock>=3.12" "portalocker>=2.8" "pytest>=8" "pytest-timeout>=2.3"
# luisy without its deps: its `pyspark` extra would clobber databricks-connect's pyspark
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e "$ROOT"
echo "databricks venv ready in $(( $(date +%s) - start ))s"

cd "$ROOT"
# one folder of tests, in one process: not the main suite's two xdist workers (pyproject addopts)
"$VENV/bin/python" -m pytest tests/databricks -p no:cacheprovider -o addopts=-ra "$@"
echo "databricks job took $(( $(date +%s) - start ))s"
