"""The load check as a Prefect flow: deployment entrypoint ``flows/loadcheck/flow.py:load_check``.

Run it once locally with ``python -m flows.loadcheck.flow``.
"""
import luisy
from flows.loadcheck.tasks import LoadCheck

load_check = luisy.flow(LoadCheck)

if __name__ == "__main__":
    load_check(working_dir="data")
