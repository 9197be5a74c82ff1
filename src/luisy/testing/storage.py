"""Storage services on 127.0.0.1 for tests and benchmarks of cloud sync: real servers, not mocks.

- :class:`Azurite`: Microsoft's Azure Storage emulator (npm package ``azurite``), spoken to
  through adlfs exactly as a storage account is;
- :class:`MotoS3`: moto's S3 server (``moto[server]``), spoken to through s3fs.

Each runs in its own process with its data in a temporary folder, and stops with it.
``remote_options`` is what a luisy remote on it needs (``remote_options`` plus a URL).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from luisy.errors import UsageError
from luisy.testing.server import free_port, stop_session

#: Azurite's well-known development account (public, documented by Microsoft)
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
               "KBHBeksoGMGw==")
#: where ``.ci/run`` installs Azurite (npm), relative to the repository
AZURITE_PREFIX = ".tools"


class _Service:
    """A server process in its own session, answering HTTP on ``port`` once started."""

    name = "service"

    def __init__(self, startup_timeout: float = 60):
        self.port = free_port()
        self.folder = tempfile.mkdtemp(prefix=f"luisy-{self.name}-")
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None
        self.log_path = os.path.join(self.folder, "server.log")

    def command(self) -> list[str]:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> _Service:
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (open while the server lives)
        self.process = subprocess.Popen(self.command(), stdout=self._log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True, cwd=self.folder)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise UsageError(f"{self.name} exited early; its log {self.log_path}:\n"
                                 f"{Path(self.log_path).read_text(errors='replace')[-2000:]}")
            try:
                urllib.request.urlopen(self.url, timeout=2).close()
                return self
            except urllib.error.HTTPError:  # it answers (with an error for "/"): it is up
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise UsageError(f"{self.name} did not answer on {self.url} within "
                         f"{self.startup_timeout}s")

    def stop(self) -> None:
        stop_session(self.process, getattr(self, "_log", None))
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, exc_type: type | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def azurite_command() -> str:
    """The ``azurite-blob`` executable: on PATH, or where ``.ci/run`` installs it."""
    found = shutil.which("azurite-blob")
    if found:
        return found
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / AZURITE_PREFIX / "node_modules" / ".bin" / "azurite-blob"
        if candidate.exists():
            return str(candidate)
    raise UsageError("azurite-blob not found: install it with "
                     f"'npm install --prefix {AZURITE_PREFIX} azurite@3' (.ci/run does)")


class Azurite(_Service):
    """Azurite's blob service; ``remote_options`` are adlfs's for its development account."""

    name = "azurite"

    def command(self) -> list[str]:
        return [azurite_command(), "--blobHost", "127.0.0.1", "--blobPort", str(self.port),
                "--location", self.folder, "--skipApiVersionCheck", "--loose", "--silent"]

    @property
    def connection_string(self) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
                f"AccountKey={AZURITE_KEY};"
                f"BlobEndpoint={self.url}/{AZURITE_ACCOUNT};")

    @property
    def remote_options(self) -> dict[str, str]:
        return {"connection_string": self.connection_string}


class MotoS3(_Service):
    """moto's S3 server; ``remote_options`` are s3fs's (any key works there)."""

    name = "moto"
    access_key, secret_key = "luisy-test-key", "luisy-test-secret-5d1f0c"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]

    @property
    def remote_options(self) -> dict[str, Any]:
        return {"key": self.access_key, "secret": self.secret_key,
                "client_kwargs": {"endpoint_url": self.url, "region_name": "eu-west-1"}}
