"""The pipeline: Source -> Cleaned -> Scaled, Source -> Other, Frame, Dynamic, Starred; Root
needs them all. Side and its Leafs are a second, independent graph."""
import time

import pandas as pd

import luisy

from . import utils
from .dyntask import Dynamic
from .source import Source
from .startask import Starred
from .utils import FACTOR, clean


@luisy.interim
@luisy.requires(Source)
class Cleaned(luisy.Task):
    def run(self):
        self.write(clean(self.input().read()))


@luisy.interim
@luisy.requires(Cleaned)
class Scaled(luisy.Task):
    def run(self):
        self.write(self.input().read() * FACTOR)


@luisy.interim
@luisy.requires(Source)
class Other(luisy.Task):
    def run(self):
        self.write(utils.other(self.input().read()))


@luisy.interim
@luisy.requires(Source)
class Frame(luisy.Task):
    def run(self):
        self.write(pd.DataFrame({"x": [self.input().read()]}))


@luisy.final
@luisy.requires(Scaled, Other, Frame, Dynamic, Starred, as_dict=True)
class Root(luisy.Task):
    def run(self):
        inputs = {name: target.read() for name, target in self.input().items()}
        inputs["Frame"] = int(inputs["Frame"]["x"].sum())
        self.write(inputs)


@luisy.interim
class Leaf(luisy.Task):
    i = luisy.IntParameter()

    def run(self):
        time.sleep(0.05)
        self.write(self.i)


@luisy.final
class Side(luisy.Task):
    n = luisy.IntParameter(default=8)

    def requires(self):
        return [Leaf(i=i) for i in range(self.n)]

    def run(self):
        self.write(sum(target.read() for target in self.input()))
