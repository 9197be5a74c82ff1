"""A task whose helper is looked up by name: its fingerprint takes whole modules."""
import luisy

from . import dynmod
from .source import Source

NAME = "double"


@luisy.interim
@luisy.requires(Source)
class Dynamic(luisy.Task):
    def run(self):
        func = getattr(dynmod, NAME)
        self.write(func(self.input().read()))
