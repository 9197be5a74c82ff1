"""``python -m luisy ...``: the ``luisy`` command, as luisy 1.x users run it."""
from luisy.cli import run

run()
