"""``Task.get_related_instances()``: the instances of a task class already built, from disk.

With ``@auto_filename`` (the default) a file name spells its parameters:
``<Family>_<p1>=<v1>_<p2>=<v2>.<ext>``, parameters sorted by name. Reading those names back
is the only record of what was built that survives a notebook restart, which is why luisy 1.x
users reach for it after ``read()`` says "not complete". Parsing is best effort (``_`` also joins
list items and replaces spaces and ``/``), so every candidate is checked by building the
instance and comparing its output path with the file found: only instances whose output *is*
that file are returned.

A class that names its files itself (``get_file_name()``) is searched as luisy 1.x did, with
:class:`luisy.file_patterns.RegexTaskPattern`: the path its methods give on placeholder values is
the pattern, checked the same way. Where that path cannot spell every significant parameter,
the error names the class and the parameter.
"""
from __future__ import annotations

import os
import re
from typing import Any

from luisy.config import current
from luisy.errors import TaskDefinitionError
from luisy.file_patterns import RegexTaskPattern, parse_value, uses_auto_filename
from luisy.targets.base import CloudTarget
from luisy.tasks.base import Task, WrapperTask

__all__ = ["parse_value", "related_instances", "uses_auto_filename"]


def _check_discoverable(cls: type[Task]) -> None:
    family = cls.get_task_family()
    if issubclass(cls, WrapperTask):
        raise TaskDefinitionError(f"{family} is a WrapperTask: it writes no output, so there "
                                  "are no files to find instances from")
    if issubclass(cls.target_cls, CloudTarget):
        raise TaskDefinitionError(f"{family} writes to {cls.target_cls.__name__}, not to a "
                                  "local file: instances cannot be found from file names")
    if cls.get_outfile is not Task.get_outfile:
        raise TaskDefinitionError(
            f"{family} names its output itself (get_outfile(), e.g. a folder named by "
            "get_folder_name()), so its file names do not spell its parameters and instances "
            "cannot be recovered from them")


class _NeedsParameters(Exception):
    pass


class _Unknown:
    """A parameter value of the probe: any use of it means the folder depends on parameters."""

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise _NeedsParameters

    __str__ = __repr__ = __format__ = __fspath__ = __iter__ = __getattr__ = _refuse
    __add__ = __radd__ = __eq__ = __lt__ = __bool__ = __hash__ = _refuse


def _search_folder(cls: type[Task]) -> tuple[str, bool]:
    """Where outputs of ``cls`` live and whether sub folders must be searched too.

    ``get_outdir()`` is called on a probe whose parameters refuse every use: when the folder
    depends on them (a ``get_sub_dir()`` per month, say) the layer folder is searched
    recursively instead.
    """
    probe = cls.__new__(cls)
    probe.param_kwargs = {}
    for name, _ in cls.get_params():
        object.__setattr__(probe, name, _Unknown())
    try:
        return os.fspath(probe.get_outdir()), False
    except Exception:  # any failure: the folder depends on parameter values
        parts = [current().working_dir]
        if cls.layer:
            parts += [probe.get_project_name(), cls.layer]
        return os.path.join(*parts), True


def _candidate_files(folder: str, recursive: bool, prefix: str, ending: str
                     ) -> list[tuple[str, str]]:
    """(path, name without the ending) of files named ``<prefix>`` or ``<prefix>_...``."""
    suffix = f".{ending}" if ending else ""
    found = []
    for root, dirs, files in os.walk(folder):
        for name in files + dirs:  # a folder output (no ending) is a directory
            if not name.endswith(suffix):
                continue
            stem = name[: len(name) - len(suffix)]
            if stem == prefix or stem.startswith(prefix + "_"):
                found.append((os.path.join(root, name), stem))
        if not recursive:
            break
    return sorted(found)


def _split_name(stem: str, family: str, names: list[str]) -> dict[str, str] | None:
    """``{param: text}`` from ``Family_a=1_b=x_y`` (parameters sorted by name, any subset)."""
    if stem == family:
        return {}
    rest = stem[len(family):]
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    if not alternatives:
        return None
    kept: list[re.Match] = []
    for hit in re.finditer(rf"_({alternatives})=", rest):
        if not kept and hit.start() != 0:
            return None
        if not kept or hit.group(1) > kept[-1].group(1):  # else '_b=' inside a value
            kept.append(hit)
    if not kept:
        return None
    ends = [h.start() for h in kept[1:]] + [len(rest)]
    return {h.group(1): rest[h.end():end] for h, end in zip(kept, ends, strict=True)}


def _instance_for(cls: type[Task], texts: dict[str, str], path: str) -> Task | None:
    params = dict(cls.get_params())
    known = {}
    for name, text in texts.items():
        try:
            known[name] = parse_value(params[name], text)
        except (ValueError, TypeError):
            return None
    missing = [n for n in cls.get_param_names() if n not in known]
    # a significant parameter missing from the name was excluded (its default) or None
    # (excl_none=True); insignificant parameters never appear and take their defaults
    for fill in ("default", "none"):
        values = dict(known)
        for name in missing:
            if fill == "default" and params[name].has_default:
                values[name] = params[name].default
            elif fill == "none":
                values[name] = None
        try:
            task = cls(**values)
            if os.path.normpath(task.get_outfile()) == os.path.normpath(path):
                return task
        except Exception:  # a wrong guess (a value this class rejects): try the next
            continue
    return None


def related_instances(cls: type[Task], regex_placeholder: str | None = None) -> list[Task]:
    """Instances of ``cls`` whose outputs exist on disk, found from their file names.

    ``auto_filename`` names are parsed; a class's own ``get_file_name()`` is matched as a
    :class:`~luisy.file_patterns.RegexTaskPattern` (``regex_placeholder``: what a value may look
    like there, luisy 1.x's argument; ``None`` takes any text within a path component).

    Raises :class:`~luisy.errors.TaskDefinitionError` when file names of ``cls`` cannot spell
    its parameters (a parameter missing from its own ``get_file_name()``, folder outputs,
    tables, wrappers).
    """
    _check_discoverable(cls)
    if not uses_auto_filename(cls):
        return RegexTaskPattern(cls, regex_placeholder=regex_placeholder).get_available_instances()
    family = cls.get_task_family()
    folder, recursive = _search_folder(cls)
    if not os.path.isdir(folder):
        return []
    ending = cls.target_cls.file_ending
    names = cls.get_param_names()
    found: dict[Task, None] = {}
    for path, stem in _candidate_files(folder, recursive, family, ending):
        texts = _split_name(stem, family, names)
        if texts is None:
            continue
        task = _instance_for(cls, texts, path)
        if task is not None:
            found[task] = None
    return list(found)
