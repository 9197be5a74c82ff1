"""One task whose ``run()`` misbehaves as ``MODE`` says, and the task that needs it::

    Flaky -> AfterFlaky

``MODE``: ``"write"`` (a normal run), ``"nothing"`` (returns without writing) or
``"write_then_raise"`` (writes its output, then raises). ``VERSION`` is in both payloads and
in both fingerprints. The tests edit both constants with a regex.
"""
import time

import luisy

VERSION = "v1"
MODE = "write"
SLEEP = 0.03


@luisy.project_name("fltpkg")
@luisy.interim
@luisy.json_output
class Flaky(luisy.Task):
    def run(self):
        time.sleep(SLEEP)
        if MODE == "nothing":
            return
        self.write({"version": VERSION, "task": "Flaky", "params": {}})
        if MODE == "write_then_raise":
            raise RuntimeError(f"Flaky wrote its {VERSION} output, then failed")


@luisy.project_name("fltpkg")
@luisy.final
@luisy.json_output
@luisy.requires(Flaky)
class AfterFlaky(luisy.Task):
    def run(self):
        upstream = self.input().read()["version"]
        time.sleep(SLEEP)
        self.write({"version": VERSION, "task": "AfterFlaky", "params": {},
                    "inputs": [upstream]})
