"""Settings: ``Config()``'s process defaults, and the frozen :class:`Settings` of each build.

``Config()`` is luisy 1.x's singleton and stays the place users set defaults
(``Config().set_param('working_dir', ...)``). A build does not read it while it runs: when it
starts it takes a frozen copy with its own arguments on top (:func:`for_build`) and puts it in a
context variable (:func:`use`). Everything a build does reads :func:`current`, so two builds in
one process (threads, or flow runs one after another) never see each other's working dir or
Spark session, and a build leaves ``Config()`` as it found it. Prefect copies the context into
the threads that run task runs; task runs in other processes get :meth:`Settings.portable`.

Outside any build (``task.read()`` in a notebook) :func:`current` is ``Config()`` itself; inside
one, ``Config().get_param(...)`` answers with the build's settings too, so luisy 1.x code that
reads ``Config()`` in ``run()`` sees the working dir its build was given.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

from luisy.errors import ConfigError

#: environment variables read by ``reset()``; of several for one setting, the first set wins
_ENV_DEFAULTS = {
    "working_dir": "WORKING_DIR",
    "requirements_path": "LUISY_REQUIREMENTS_PATH",
    "azure_account_name": "LUISY_AZURE_ACCOUNT_NAME",
    "azure_account_key": ("LUISY_AZURE_ACCOUNT_KEY", "LUISY_AZURE_STORAGE_KEY"),  # 1.x: the latter
    "azure_container_name": "LUISY_AZURE_CONTAINER_NAME",
    "delta_storage": "LUISY_DELTA_STORAGE",
    "remote": "LUISY_REMOTE",
    "remote_layout": "LUISY_REMOTE_LAYOUT",
}

_DEFAULTS: dict[str, Any] = {
    "working_dir": None,
    "download": False,
    "upload": False,
    "dry_run": False,
    "no_ask": False,
    "hash_update_mode": False,
    "requirements_path": None,
    "spark": None,
    "spark_block": None,
    # where Delta tables live: 'auto' (folders on the embedded engine, else the catalog),
    # 'path' (folders under <working_dir>/.luisy-delta) or 'catalog'
    "delta_storage": "auto",
    "cloud_mode": False,
    "azure_account_name": None,
    "azure_account_key": None,
    "azure_container_name": None,
    # cloud sync (see luisy.remote): the remote's URL, or the name of a Prefect block
    "remote": None,
    "remote_block": None,
    # 'mirror' (luisy 1.x's: the working dir's paths) or 'shared' (objects named by key)
    "remote_layout": "mirror",
    # downloads of one class that are ready together share a task run of up to this many
    # (a download runs no code of the task: Prefect's cost per task run would dominate it)
    "download_group_size": 100,
}

#: settings that are live objects of this process, never sent to another one
_LOCAL_ONLY = ("spark",)
#: luisy 1.x's names of settings that luisy 2 spells otherwise
_ALIASES = {"azure_storage_key": "azure_account_key"}


class UnknownSettingWarning(UserWarning):
    """A setting luisy does not know was stored (luisy 1.x stored any name). Make it an
    error with ``warnings.simplefilter("error", UnknownSettingWarning)``."""


def setting_name(name: str) -> str:
    """The setting ``name`` stands for: CLI spelling (``dry-run``) and 1.x aliases
    (``azure_storage_key``) accepted."""
    name = name.replace("-", "_")
    return _ALIASES.get(name, name)


def _warn_if_unknown(names: Iterator[str] | list[str], known: Mapping[str, Any]) -> None:
    import difflib
    import warnings

    for name in names:
        if name not in _DEFAULTS and name not in known:
            close = difflib.get_close_matches(name, list(_DEFAULTS), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            warnings.warn(f"luisy: '{name}' is not a luisy setting{hint}; stored as given",
                          UnknownSettingWarning, stacklevel=3)


class _Params:
    """Reading settings, the same for the process defaults and a build's frozen copy."""

    _params: Mapping[str, Any]

    def get_param(self, name: str) -> Any:
        """The setting's value; one never set is an error (``KeyError`` and, as in luisy 1.x,
        ``ValueError``) naming the known ones."""
        key = setting_name(name)
        if key not in self._params:
            known = ", ".join(sorted(self._params))
            raise ConfigError(f"Unknown luisy config parameter '{name}'. Known: {known}")
        return self._params[key]

    @property
    def working_dir(self) -> str:
        wd = self._params["working_dir"]
        if not wd:
            raise ConfigError(
                "Parameter 'working_dir' not set (no working dir): use "
                "Config().set_param('working_dir', DIR), "
                "luisy.set_working_dir(DIR), --working-dir DIR or the WORKING_DIR env variable"
            )
        return str(wd)

    def portable(self) -> dict[str, Any]:
        """The settings another process needs to run tasks alike (no live Spark session)."""
        return {k: v for k, v in self._params.items() if k not in _LOCAL_ONLY}


class Config(_Params):
    """Singleton holding luisy's process defaults; ``Config()`` always returns the same object."""

    _instance: Config | None = None
    _lock = threading.Lock()

    def __new__(cls) -> Config:
        with cls._lock:
            if cls._instance is None:
                inst = super().__new__(cls)
                inst._params = {}
                inst.reset()
                cls._instance = inst
        return cls._instance

    def reset(self) -> None:
        """Back to defaults, re-reading the environment."""
        params = dict(_DEFAULTS)
        for name, envs in _ENV_DEFAULTS.items():
            found = [os.environ[e] for e in ((envs,) if isinstance(envs, str) else envs)
                     if os.environ.get(e)]
            if found:
                params[name] = found[0]
        self._params = params

    def get_param(self, name: str) -> Any:
        """The setting of the build this runs in (what luisy 1.x code reads inside ``run()``
        sees the build's working dir), else the process default."""
        build = _CURRENT.get()
        return build.get_param(name) if build is not None else super().get_param(name)

    @property
    def working_dir(self) -> str:
        build = _CURRENT.get()
        return build.working_dir if build is not None else super().working_dir

    def set_param(self, name: str, value: Any) -> None:
        """Set a default; a name luisy does not know is stored with a warning, as luisy 1.x
        stored it (its pipelines keep their own settings in ``Config()``)."""
        self.update({name: value})

    def update(self, params: Mapping[str, Any]) -> None:
        given = {setting_name(k): v for k, v in params.items()}
        _warn_if_unknown(list(given), self._params)
        self._params.update(given)

    @property
    def spark(self) -> Any:
        """The Spark session SparkTasks use (see :func:`luisy.spark.provider.get_spark`)."""
        from luisy.services import provided

        return provided.need("spark_session")()

    @spark.setter
    def spark(self, session: Any) -> None:
        """``Config().spark = s`` as in luisy 1.x: ``set_param('spark', s)``."""
        self.set_param("spark", session)


class Settings(_Params):
    """The settings of one build: frozen, made when it starts (see :func:`for_build`)."""

    __slots__ = ("_params",)

    def __init__(self, params: Mapping[str, Any]):
        self._params = MappingProxyType(dict(params))

    def __repr__(self) -> str:
        shown = {k: v for k, v in self._params.items() if "key" not in k}  # no secrets
        return f"Settings({shown})"


_CURRENT: ContextVar[Settings | None] = ContextVar("luisy_settings", default=None)


def current() -> Settings | Config:
    """The settings of the build this runs in, else ``Config()``'s process defaults."""
    return _CURRENT.get() or Config()


def for_build(overrides: Mapping[str, Any] | None = None) -> Settings:
    """A build's settings: the current ones (a build inside a build keeps its parent's), with
    ``overrides`` on top (``None`` values mean "not given"); unknown names are stored with a
    warning, as :meth:`Config.update` does."""
    base = current()
    given = {setting_name(k): v for k, v in (overrides or {}).items() if v is not None}
    _warn_if_unknown(list(given), base._params)
    return Settings({**base._params, **given})


@contextmanager
def use(settings: Settings) -> Iterator[Settings]:
    """Make ``settings`` the current ones for the code inside (and threads it starts through
    Prefect); the previous ones are back afterwards."""
    token = _CURRENT.set(settings)
    try:
        yield settings
    finally:
        _CURRENT.reset(token)


def default_settings() -> dict[str, Any]:
    """Every setting luisy knows, at its default (the environment not read)."""
    return dict(_DEFAULTS)


def pass_args(args: Mapping[str, Any]) -> None:
    """luisy 1.x: ``Config().update(args)``."""
    Config().update(args)


def set_working_dir(path: str | os.PathLike) -> None:
    Config().set_param("working_dir", os.fspath(path))


def activate_download() -> None:
    Config().set_param("download", True)


# ------------------------------------------------------------ luisy 1.x's path helpers
def change_working_dir(path: str, dir_current: str, dir_new: str) -> str:
    """``path`` with its leading ``dir_current`` replaced by ``dir_new`` (luisy 1.x)."""
    current_dir = os.path.normpath(dir_current)
    if os.path.commonpath([path, current_dir]) != current_dir:
        raise ConfigError(f"{path} is not inside {current_dir}")
    rest = path[len(current_dir):].lstrip("/")
    if dir_new:
        return os.path.join(os.path.normpath(dir_new), rest)
    return "/" + rest


def remove_working_dir(path: str) -> str:
    """``/data/proj/raw/x.pkl`` -> ``/proj/raw/x.pkl`` for working dir ``/data`` (the form
    of luisy 1.x's ``.luisy.hash`` keys)."""
    return change_working_dir(path, current().working_dir, "")


def add_working_dir(path: str) -> str:
    """``/proj/raw/x.pkl`` -> ``<working dir>/proj/raw/x.pkl`` (luisy 1.x)."""
    return os.path.join(current().working_dir, path.lstrip("/"))
