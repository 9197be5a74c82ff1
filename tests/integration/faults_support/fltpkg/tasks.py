"""Twelve tasks whose outputs carry the code version that wrote them::

    Leaf(i=0..5) -> Pair(j=0..2) (Leaf(2j), Leaf(2j+1)) -> Left (Pair 0, 1), Right (Pair 1, 2)
                                                           -> Root (Left, Right)

``VERSION`` is used inside every ``run()``, so it is part of every task's code fingerprint:
editing it changes every key. The tests edit it with a regex on the ``VERSION = "..."`` line.

Each ``run()`` sleeps ``SLEEP``, and its payload holds a :class:`SlowToWrite` that takes
``WRITE_SLEEP`` to serialise, so a kill at a random moment lands inside runs and inside the
atomic writes too (real outputs take time to write), where it leaves temporary files behind.
"""
import time

import luisy

VERSION = "v1"
SLEEP = 0.03
WRITE_SLEEP = 0.02


class SlowToWrite:
    """A payload field that is slow to serialise: pickle calls ``__reduce__``, the JSON target
    (``default=str``) calls ``__str__``; both run while the temporary file is open."""

    def __reduce__(self):
        time.sleep(WRITE_SLEEP)
        return str, ("slow",)

    def __str__(self):
        time.sleep(WRITE_SLEEP)
        return "slow"


@luisy.project_name("fltpkg")
@luisy.interim
@luisy.pickle_output
class Leaf(luisy.Task):
    i = luisy.IntParameter()

    def run(self):
        time.sleep(SLEEP)
        self.write({"version": VERSION, "task": "Leaf", "params": {"i": self.i},
                    "pad": SlowToWrite()})


@luisy.project_name("fltpkg")
@luisy.interim
@luisy.json_output
class Pair(luisy.Task):
    j = luisy.IntParameter()

    def requires(self):
        return [Leaf(i=2 * self.j), Leaf(i=2 * self.j + 1)]

    def run(self):
        inputs = [target.read()["version"] for target in self.input()]
        time.sleep(SLEEP)
        self.write({"version": VERSION, "task": "Pair", "params": {"j": self.j},
                    "inputs": inputs, "pad": SlowToWrite()})


@luisy.project_name("fltpkg")
@luisy.interim
@luisy.json_output
class Left(luisy.Task):
    def requires(self):
        return [Pair(j=0), Pair(j=1)]

    def run(self):
        inputs = [target.read()["version"] for target in self.input()]
        time.sleep(SLEEP)
        self.write({"version": VERSION, "task": "Left", "params": {}, "inputs": inputs,
                    "pad": SlowToWrite()})


@luisy.project_name("fltpkg")
@luisy.interim
@luisy.json_output
class Right(luisy.Task):
    def requires(self):
        return [Pair(j=1), Pair(j=2)]

    def run(self):
        inputs = [target.read()["version"] for target in self.input()]
        time.sleep(SLEEP)
        self.write({"version": VERSION, "task": "Right", "params": {}, "inputs": inputs,
                    "pad": SlowToWrite()})


@luisy.project_name("fltpkg")
@luisy.final
@luisy.json_output
@luisy.requires(Left, Right, as_dict=True)
class Root(luisy.Task):
    def run(self):
        inputs = {name: target.read()["version"] for name, target in self.input().items()}
        time.sleep(SLEEP)
        self.write({"version": VERSION, "task": "Root", "params": {}, "inputs": inputs,
                    "pad": SlowToWrite()})
