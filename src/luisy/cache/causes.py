"""Why a task runs (or does not), as data: a category and the names it is about.

The plan decides from keys; each decision carries its reasons as :class:`Reason` objects, and
only the edges turn them into words (the CLI's table, the plan artifact, the DAG's colours,
``stale_after``), all through :meth:`Reason.__str__`, so they say the same thing.
"""
from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from luisy.cache.keys import TaskKey


class Category(enum.Enum):
    """What a reason is about; the value is how it reads (``{}``: the names)."""

    # a task must run because ...
    NO_OUTPUT = "no output"
    NO_RECORD = "no recorded key"
    CODE = "code changed: {}"
    LIBRARY = "library changed: {}"
    PARAMETERS = "new parameters"
    UPSTREAM = "upstream changed: {}"
    DATA = "data changed: {}"
    FORCED = "forced"
    FORCED_UPSTREAM = "upstream forced: {}"
    CHANGED_OUTPUT = "output changed outside luisy: {}"
    CHANGED_UPSTREAM = "upstream output changed outside luisy: {}"
    KEY = "key changed"
    ON_REMOTE = "on the remote with its current key: {}"
    # ... or it does not, or not now
    UP_TO_DATE = "up to date"
    ADOPTED = "up to date (made before data versions: their versions now are recorded)"
    EXTERNAL_PRESENT = "external data present"
    EXTERNAL_MISSING = "no data at {}"
    WAITS_FOR = "waits for {}"
    WRAPPED_COMPLETE = "all wrapped tasks complete"
    NOT_NEEDED = "but {} is complete"
    NOT_NEEDED_DOWNLOADED = "but {} is downloaded"
    CHECK_FAILED = "cannot check its output: {}"
    INPUT_CHECK_FAILED = "cannot check its input: {}"


#: the categories that make a task stale (its output does not hold its current key)
STALE = frozenset({Category.NO_OUTPUT, Category.NO_RECORD, Category.CODE, Category.LIBRARY,
                   Category.PARAMETERS, Category.UPSTREAM, Category.DATA, Category.FORCED,
                   Category.FORCED_UPSTREAM, Category.CHANGED_OUTPUT,
                   Category.CHANGED_UPSTREAM, Category.KEY})

#: the categories that rerun a task whose recorded key is its current one: its run must not
#: take the recorded key as "another build made it meanwhile"
OVERRIDES = frozenset({Category.FORCED, Category.FORCED_UPSTREAM, Category.CHANGED_OUTPUT,
                       Category.CHANGED_UPSTREAM})

#: categories that read as a note after the causes ("..., but X is complete")
NOTES = frozenset({Category.NOT_NEEDED, Category.NOT_NEEDED_DOWNLOADED})

#: names shown before "(+N more)"
SHOWN = 3


@dataclass(frozen=True)
class Reason:
    category: Category
    names: tuple[str, ...] = ()

    @property
    def stale(self) -> bool:
        return self.category in STALE

    def __str__(self) -> str:
        template = self.category.value
        if "{}" not in template:
            return template
        shown = ", ".join(self.names[:SHOWN])
        if len(self.names) > SHOWN:
            shown += f" (+{len(self.names) - SHOWN} more)"
        return template.format(shown)


def describe(reasons: Iterable[Reason]) -> str:
    """One line: causes joined by ``;``, a not-needed note after a comma."""
    text, notes = [], []
    for reason in reasons:
        (notes if reason.category in NOTES else text).append(str(reason))
    return ", ".join(["; ".join(text), *notes]) if notes else "; ".join(text)


def explain(previous: Mapping[str, Any] | None, key: TaskKey) -> tuple[Reason, ...]:
    """Why a recorded key differs from the current ``key``, most specific cause first.

    ``previous`` is what the recorded key was made of (the hash store's details).
    """
    if previous is None:
        return (Reason(Category.NO_RECORD),)
    code, libraries = key.fingerprint.code, key.fingerprint.libraries
    params, upstream = key.params, key.upstream
    reasons = []
    old_code = previous.get("code", {})
    changed = sorted(u for u in set(old_code) | set(code) if old_code.get(u) != code.get(u))
    if changed:
        shown = tuple(u.removeprefix("module:").removeprefix("const:") for u in changed)
        reasons.append(Reason(Category.CODE, shown))
    old_libs = previous.get("libraries", {})
    for dist in sorted(set(old_libs) | set(libraries)):
        before, after = old_libs.get(dist), libraries.get(dist)
        if before != after:
            reasons.append(Reason(Category.LIBRARY,
                                  (f"{dist} {before or '(none)'} -> {after or '(none)'}",)))
    if previous.get("params", params) != params:
        reasons.append(Reason(Category.PARAMETERS))
    old_up = previous.get("upstream", {})
    ups = tuple(tid for tid, k in upstream.items() if old_up.get(tid) != k)
    if "data" in previous:  # recorded with data versions: an input with a new one, same key
        old_data = previous["data"]
        new = tuple(name for name in dict.fromkeys([*key.data, *old_data])
                    if old_data.get(name) != key.data.get(name) and name not in ups)
        if new:
            reasons.append(Reason(Category.DATA, new))
    if ups:
        reasons.append(Reason(Category.UPSTREAM, ups))
    return tuple(reasons) or (Reason(Category.KEY),)
