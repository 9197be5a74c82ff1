"""Where a build's remote is and how to reach it: a URL, fsspec options and the secrets in them.

The remote is any fsspec file system, named by URL (``abfs://container/prefix``,
``s3://bucket/prefix``, ``gs://...``, ``file:///...``), from (first found wins):

1. the build's ``remote`` setting: ``--remote URL``, ``build(..., remote=URL)``,
   ``Config().set_param('remote', URL)``, or the ``LUISY_REMOTE`` environment variable;
2. a Prefect block (``remote_block`` setting, ``--remote-block NAME``): a
   :class:`~luisy.remote.block.RemoteStorage` (URL plus fsspec options, kept secret), or
   prefect-azure's ``AzureBlobStorageCredentials`` (its connection string), with the URL
   from ``remote`` (or the container from ``LUISY_AZURE_CONTAINER_NAME``);
3. luisy 1.x's settings: ``azure_container_name`` with ``azure_account_name`` (a container of
   that Azure storage account).

Credentials come from the block, from luisy 1.x's names (``azure_account_name``,
``azure_account_key`` alias ``azure_storage_key``, env ``LUISY_AZURE_*``) for ``abfs://`` and
``az://``, or from fsspec's own ways (``AZURE_STORAGE_CONNECTION_STRING``, ``AWS_*``, the
``FSSPEC_<PROTOCOL>_<OPTION>`` variables, instance roles). Every message luisy makes about the
remote passes through :meth:`RemoteSettings.redact`, so no secret reaches a log, an artifact or
an error; the flow run's parameters never hold them (a block is named, not inlined).
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from luisy.errors import RemoteError

#: fsspec option names whose values are secrets (compared case-insensitively, by part)
_SECRET_PARTS = ("key", "secret", "token", "password", "connection_string", "sas", "credential")
AZURE_PROTOCOLS = ("abfs", "abfss", "az")


@dataclass(frozen=True)
class RemoteSettings:
    """One remote: its URL (no trailing slash) and the options its file system is made with."""

    url: str
    options: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def protocol(self) -> str:
        return urlparse(self.url).scheme or "file"

    @property
    def secrets(self) -> list[str]:
        """The secret values in the options, longest first (so none hides part of another)."""
        found = [str(v) for k, v in self.options.items()
                 if v and any(part in k.lower() for part in _SECRET_PARTS)]
        return sorted(found, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """``text`` with every secret of this remote replaced by ``***``."""
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def __repr__(self) -> str:
        shown = {k: ("***" if str(v) in self.secrets else v) for k, v in self.options.items()}
        return f"RemoteSettings({self.url!r}, {shown})"


def remote_of(settings: Any) -> RemoteSettings | None:
    """The remote the build's ``settings`` name, None when none is set: the URL of the
    ``remote`` setting, else the block's; the credentials of the block when one is named (a
    credentials block such as prefect-azure's may carry nothing else), else 1.x's."""
    url = settings.get_param("remote")
    block = settings.get_param("remote_block")
    if block:
        found = _from_block(block, url)
        return RemoteSettings((url or found.url).rstrip("/"), found.options)
    if url:
        return RemoteSettings(url.rstrip("/"), _options_for(url, settings))
    container = settings.get_param("azure_container_name")
    if container and settings.get_param("azure_account_name"):
        url = f"abfs://{container}"
        return RemoteSettings(url, _options_for(url, settings))
    return None


def _options_for(url: str, settings: Any) -> dict[str, Any]:
    """luisy 1.x's Azure settings as adlfs options, for an Azure URL; else none (fsspec finds
    its credentials its usual ways)."""
    scheme = urlparse(url).scheme
    if scheme not in AZURE_PROTOCOLS:
        return {}
    options = {"account_name": settings.get_param("azure_account_name"),
               "account_key": settings.get_param("azure_account_key")}
    return {k: v for k, v in options.items() if v}


def _from_block(name: str, url: str | None) -> RemoteSettings:
    """The remote a saved Prefect block describes (``url``, when given, says where)."""
    from prefect.blocks.core import Block

    try:
        block = Block.load(name if "/" in name else f"luisy-remote-storage/{name}")
    except (ValueError, KeyError) as exc:
        raise RemoteError(f"remote block '{name}': cannot load it ({exc}); save one with "
                          "luisy.remote.block.RemoteStorage(url=...).save(NAME)") from None
    if hasattr(block, "storage_options") and hasattr(block, "url"):  # luisy's RemoteStorage
        return RemoteSettings(block.url, block.storage_options())
    connection = getattr(block, "connection_string", None)  # prefect-azure's credentials
    container = getattr(block, "container_name", None) or os.environ.get(
        "LUISY_AZURE_CONTAINER_NAME")
    if connection is not None and (url or container):
        return RemoteSettings(url or f"abfs://{container}",
                              {"connection_string": connection.get_secret_value()})
    raise RemoteError(f"remote block '{name}' ({type(block).__name__}) names no remote: use "
                      "luisy.remote.block.RemoteStorage, or Azure credentials with --remote "
                      "abfs://CONTAINER/...")
