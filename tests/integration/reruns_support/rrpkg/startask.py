"""A task using a name from a star import: its fingerprint takes the whole starred module."""
import luisy

from .source import Source
from .starmod import *  # noqa: F403


@luisy.interim
@luisy.requires(Source)
class Starred(luisy.Task):
    def run(self):
        self.write(star_fn(self.input().read()))  # noqa: F405
