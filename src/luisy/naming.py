"""How tasks and their values are written in names: task ids, run names and file names."""
from __future__ import annotations

from typing import Any


def string_repr(value: Any) -> str:
    """luisy 1.x file-name form: iterables joined by ``_``, spaces and ``/`` become ``_``."""
    if hasattr(value, "__iter__") and not isinstance(value, str):
        if hasattr(value, "items"):
            value = [f"{k}-{v}" for k, v in value.items()]
        return "_".join(string_repr(v) for v in value)
    return str(value).replace(" ", "_").replace("/", "_")


def file_ending_stripped(file_name: str, ending: str) -> str:
    """A file name that already ends with the extension does not get it twice."""
    suffix = f".{ending}"
    return file_name[: -len(suffix)] if ending and file_name.endswith(suffix) else file_name
