"""luisy 1.x's ``luisy.helpers``, for code that imports from it: its small string and path
helpers, and (from :mod:`luisy.file_patterns`) :class:`RegexTaskPattern` and
``get_related_instances``."""
from __future__ import annotations

from typing import Any

from luisy.config import change_working_dir
from luisy.file_patterns import (
    DEFAULT_PLACEHOLDER,
    RegexParam,
    RegexTaskPattern,
    get_related_instances,
    parse_value,
    uses_auto_filename,
    wrap_in_brackets,
)

__all__ = ["DEFAULT_PLACEHOLDER", "RegexParam", "RegexTaskPattern", "change_working_dir",
           "get_related_instances", "get_string_repr", "parse_value", "uses_auto_filename",
           "wrap_in_brackets"]


def get_string_repr(obj: Any) -> str:
    """luisy 1.x's string form: iterables joined by ``_`` (a dict by its keys, as 1.x did:
    file names of luisy 2 write dict parameters as ``key-value``), spaces and ``/`` as ``_``."""
    if hasattr(obj, "__iter__") and not isinstance(obj, str):
        return "_".join(get_string_repr(o) for o in obj)
    return str(obj).replace(" ", "_").replace("/", "_")
