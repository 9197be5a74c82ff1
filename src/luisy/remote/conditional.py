"""A small JSON file on the remote that several uploaders change without losing each other's
changes: read it with its version, change it, write it only if nobody wrote it meanwhile.

Each backend has its own compare-and-swap, used as its SDK documents it:

- Azure blob storage (adlfs): the blob's ``etag`` with ``match_condition=IfNotModified``
  (a new blob: ``If-None-Match: *``);
- S3 (s3fs): ``IfMatch=<ETag>`` on ``put_object`` (a new object: ``IfNoneMatch='*'``);
- a local or mounted folder (``file://``): a lock file (``filelock``) around read and write,
  the write a rename of a temporary file;
- any other file system: a lock object made with fsspec's create-only write (``mode="create"``;
  atomic where the backend makes it so), removed after the write, taken over when older
  than :data:`STALE_LOCK_SECONDS` (its holder was killed).
"""
from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from typing import Any

from luisy.errors import RemoteError

#: a lock object older than this belongs to a killed uploader
STALE_LOCK_SECONDS = 120
#: how often a change is tried again after another uploader's write came first
ATTEMPTS = 50


class ConditionalFile:
    """One JSON object (``{}`` while the file is absent) on the remote, changed by
    :meth:`update` under the backend's compare-and-swap."""

    def __init__(self, fs: Any, path: str, where: str):
        self.fs = fs
        self.path = path
        #: how messages name the file (the remote's URL, no secret)
        self.where = where

    def read(self) -> dict:
        return self._read()[0]

    def update(self, change: Callable[[dict], dict]) -> dict:
        """Apply ``change`` to the file's content and write it back, again on a fresh read
        when another writer came first; the content written."""
        for _ in range(ATTEMPTS):
            data, token = self._read()
            new = change(dict(data))
            if new == data:
                return data
            if self._write(_encode(new), token):
                return new
            time.sleep(0.05)
        raise RemoteError(f"{self.where}: {ATTEMPTS} writers came first; giving up this change")

    # ------------------------------------------------------------- per backend, overridden
    def _read(self) -> tuple[dict, Any]:
        """The content and the version it was read at (None: the file is absent)."""
        for _ in range(ATTEMPTS):
            token = self._token()
            if token is None:
                return {}, None
            try:
                raw = self.fs.cat_file(self.path)
            except FileNotFoundError:
                continue
            if self._token() == token:  # not written between: the bytes are of ``token``
                return _decode(raw, self.where), token
        raise RemoteError(f"{self.where}: changes faster than it can be read")

    def _token(self) -> Any:
        try:
            info = self.fs.info(self.path)
        except FileNotFoundError:
            return None
        return info.get("ETag") or info.get("etag")

    def _write(self, data: bytes, token: Any) -> bool:
        raise NotImplementedError


class _AzureFile(ConditionalFile):
    def _write(self, data: bytes, token: Any) -> bool:
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError

        try:
            if token is None:
                self.fs.pipe_file(self.path, data, mode="create")
            else:
                self.fs.pipe_file(self.path, data, etag=token,
                                  match_condition=MatchConditions.IfNotModified)
        except (FileExistsError, ResourceModifiedError):
            return False
        return True


class _S3File(ConditionalFile):
    def _write(self, data: bytes, token: Any) -> bool:
        try:
            if token is None:
                self.fs.pipe_file(self.path, data, mode="create")
            else:
                self.fs.pipe_file(self.path, data, IfMatch=token)
        except FileExistsError:
            return False
        except OSError as exc:  # s3fs puts botocore's error behind its own
            code = getattr(exc.__cause__, "response", {}).get("Error", {}).get("Code")
            if code in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                return False
            raise
        return True


class _LocalFile(ConditionalFile):
    """A folder of this machine (or mounted): the lock is held from read to write."""

    def update(self, change: Callable[[dict], dict]) -> dict:
        from filelock import FileLock

        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        with FileLock(self.path + ".lock"):
            data = self.read()
            new = change(dict(data))
            if new != data:
                tmp = f"{self.path}.{uuid.uuid4().hex[:8]}.tmp"
                with open(tmp, "wb") as fh:
                    fh.write(_encode(new))
                os.replace(tmp, self.path)
            return new

    def _read(self) -> tuple[dict, Any]:
        try:
            with open(self.path, "rb") as fh:
                return _decode(fh.read(), self.where), True
        except FileNotFoundError:
            return {}, None


class _LockedFile(ConditionalFile):
    """Any other file system: a create-only lock object beside the file."""

    def update(self, change: Callable[[dict], dict]) -> dict:
        lock = self.path + ".lock"
        for _ in range(ATTEMPTS * 20):
            try:
                self.fs.pipe_file(lock, str(time.time()).encode(), mode="create")
                break
            except FileExistsError:
                self._take_over_if_stale(lock)
                time.sleep(0.05)
        else:
            raise RemoteError(f"{self.where}: its lock {lock} stays taken")
        try:
            data = self.read()
            new = change(dict(data))
            if new != data:
                self.fs.pipe_file(self.path, _encode(new))
            return new
        finally:
            self.fs.rm_file(lock)

    def _take_over_if_stale(self, lock: str) -> None:
        try:
            taken = float(self.fs.cat_file(lock))
        except (FileNotFoundError, ValueError):
            return
        if time.time() - taken > STALE_LOCK_SECONDS:
            self.fs.rm_file(lock)


def conditional_file(fs: Any, path: str, where: str) -> ConditionalFile:
    """The :class:`ConditionalFile` for ``path`` on ``fs``, by the file system's protocol."""
    protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    if "file" in protocols or "local" in protocols:
        return _LocalFile(fs, path, where)
    if {"abfs", "az", "abfss"} & set(protocols):
        return _AzureFile(fs, path, where)
    if {"s3", "s3a"} & set(protocols):
        return _S3File(fs, path, where)
    return _LockedFile(fs, path, where)


def _encode(data: dict) -> bytes:
    return json.dumps(data, indent=1, sort_keys=True).encode()


def _decode(raw: bytes, where: str) -> dict:
    try:
        data = json.loads(raw.decode())
    except (UnicodeDecodeError, ValueError) as exc:
        raise RemoteError(f"{where}: not JSON ({exc}); luisy leaves it alone") from None
    if not isinstance(data, dict):
        raise RemoteError(f"{where}: not a JSON object; luisy leaves it alone")
    return data
