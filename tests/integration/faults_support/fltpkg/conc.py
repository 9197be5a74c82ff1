"""Tasks that log every ``run()`` to ``<working_dir>/runs.log``, for concurrent builds::

    CLeaf(i=0..3) -> CMid(j=0..2) (CLeaf(j), CLeaf(j+1)) -> RootA (CMid 0, 1)
                                                          -> RootB (CMid 1, 2)

RootA and RootB share CMid(j=1), CLeaf(i=1) and CLeaf(i=2). Each run appends
``start <task> <monotonic ns> <pid>``, sleeps ``SLEEP`` and appends ``end <task> <ns> <pid>``
(one write per line, file opened in append mode, flushed).
"""
import os
import time

import luisy

SLEEP = 0.08
LOG_NAME = "runs.log"


def log_path(task):
    """``<working_dir>/runs.log``: outputs live at ``<working_dir>/<project>/<layer>/<file>``."""
    layer_dir = os.path.dirname(task.output().path)
    return os.path.join(os.path.dirname(os.path.dirname(layer_dir)), LOG_NAME)


def log_line(task, event):
    path = log_path(task)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(f"{event} {task} {time.monotonic_ns()} {os.getpid()}\n")
        fh.flush()


def logged_run(task, payload):
    log_line(task, "start")
    time.sleep(SLEEP)
    task.write(payload)
    log_line(task, "end")


@luisy.project_name("fltpkg")
@luisy.interim
@luisy.json_output
class CLeaf(luisy.Task):
    i = luisy.IntParameter()

    def run(self):
        logged_run(self, {"task": "CLeaf", "i": self.i})


@luisy.project_name("fltpkg")
@luisy.interim
@luisy.json_output
class CMid(luisy.Task):
    j = luisy.IntParameter()

    def requires(self):
        return [CLeaf(i=self.j), CLeaf(i=self.j + 1)]

    def run(self):
        logged_run(self, {"task": "CMid", "j": self.j,
                          "inputs": [t.read()["i"] for t in self.input()]})


@luisy.project_name("fltpkg")
@luisy.final
@luisy.json_output
class RootA(luisy.Task):
    def requires(self):
        return [CMid(j=0), CMid(j=1)]

    def run(self):
        logged_run(self, {"task": "RootA", "inputs": [t.read()["j"] for t in self.input()]})


@luisy.project_name("fltpkg")
@luisy.final
@luisy.json_output
class RootB(luisy.Task):
    def requires(self):
        return [CMid(j=1), CMid(j=2)]

    def run(self):
        logged_run(self, {"task": "RootB", "inputs": [t.read()["j"] for t in self.input()]})
