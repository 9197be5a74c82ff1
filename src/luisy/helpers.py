"""luisy 1.x's ``luisy.helpers``, for code that imports from it."""
from __future__ import annotations

from typing import Any

from luisy.config import change_working_dir

__all__ = ["change_working_dir", "get_string_repr"]


def get_string_repr(obj: Any) -> str:
    """luisy 1.x's string form: iterables joined by ``_`` (a dict by its keys, as 1.x did:
    file names of luisy 2 write dict parameters as ``key-value``), spaces and ``/`` as ``_``."""
    if hasattr(obj, "__iter__") and not isinstance(obj, str):
        return "_".join(get_string_repr(o) for o in obj)
    return str(obj).replace(" ", "_").replace("/", "_")
