"""Process-wide settings, the luisy 1.x ``Config`` singleton.

Settings live in one place so that tasks, targets and the runner agree on the working dir and the
Spark session without passing them through every call.
"""
from __future__ import annotations

import os
import threading
from typing import Any

_ENV_DEFAULTS = {
    "working_dir": "WORKING_DIR",
    "requirements_path": "LUISY_REQUIREMENTS_PATH",
    "azure_account_name": "LUISY_AZURE_ACCOUNT_NAME",
    "azure_account_key": "LUISY_AZURE_ACCOUNT_KEY",
    "azure_container_name": "LUISY_AZURE_CONTAINER_NAME",
    "delta_storage": "LUISY_DELTA_STORAGE",
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
}


class Config:
    """Singleton holding luisy's settings; ``Config()`` always returns the same object."""

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
        for name, env in _ENV_DEFAULTS.items():
            if os.environ.get(env):
                params[name] = os.environ[env]
        self._params = params

    def _check(self, name: str) -> None:
        if name not in self._params:
            known = ", ".join(sorted(self._params))
            raise KeyError(f"Unknown luisy config parameter '{name}'. Known: {known}")

    def get_param(self, name: str) -> Any:
        self._check(name)
        return self._params[name]

    def set_param(self, name: str, value: Any) -> None:
        self._check(name)
        self._params[name] = value

    def portable(self) -> dict[str, Any]:
        """The settings another process needs to run tasks alike (no live Spark session)."""
        return {k: v for k, v in self._params.items() if k != "spark"}

    def update(self, params: dict[str, Any]) -> None:
        for name in params:
            self._check(name)
        self._params.update(params)

    @property
    def working_dir(self) -> str:
        wd = self._params["working_dir"]
        if not wd:
            raise ValueError(
                "No working dir set: use Config().set_param('working_dir', DIR), "
                "luisy.set_working_dir(DIR), --working-dir DIR or the WORKING_DIR env variable"
            )
        return str(wd)

    @property
    def spark(self) -> Any:
        """The Spark session SparkTasks use, resolved by :mod:`luisy.spark.session`."""
        from luisy.spark.session import get_spark

        return get_spark()


def set_working_dir(path: str | os.PathLike) -> None:
    Config().set_param("working_dir", os.fspath(path))


def activate_download() -> None:
    Config().set_param("download", True)
