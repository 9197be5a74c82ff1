"""Headless Chromium with one tab, driven through its DevTools protocol: for tests and scripts
that look at pages as a person would (the docs site, the Prefect UI).

A plain ``chromium --screenshot`` cannot click a tab or say whether an image loaded; the
protocol (a websocket, ``websockets`` from Prefect's own dependencies) can. Written here, not
taken from a library, because the only well-kept drivers (Playwright, Selenium) bring their
own browser downloads, which this set-up cannot fetch; Debian's Chromium is what CI installs.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from luisy.errors import BrowserError


class Browser:
    """Headless Chromium (its profile in ``profile``) and one tab, ``window`` pixels large."""

    def __init__(self, profile: Path, window: tuple[int, int] | None = None):
        from websockets.sync.client import connect

        binary = shutil.which("chromium") or "/usr/bin/chromium"
        self.process = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--no-first-run", "--remote-debugging-port=0", f"--user-data-dir={profile}",
             "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = Path(profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise BrowserError("chromium did not open its DevTools port")
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as answer:
            tab = next(t for t in json.load(answer) if t["type"] == "page")
        self.socket = connect(tab["webSocketDebuggerUrl"], max_size=None)
        self.ids = 0
        self.call("Page.enable")
        if window is not None:
            self.call("Emulation.setDeviceMetricsOverride", width=window[0], height=window[1],
                      deviceScaleFactor=1, mobile=False)

    def _send(self, method: str, params: dict) -> int:
        self.ids += 1
        self.socket.send(json.dumps({"id": self.ids, "method": method, "params": params}))
        return self.ids

    def call(self, method: str, **params: Any) -> dict:
        """One DevTools command; its result (events meanwhile are passed over)."""
        sent = self._send(method, params)
        while True:
            message = json.loads(self.socket.recv(timeout=60))
            if message.get("id") == sent:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                return message["result"]

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        found = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return found["result"].get("value")

    def load(self, url: str) -> None:
        """Open ``url`` and wait for its load event."""
        self._send("Page.navigate", {"url": url})
        while json.loads(self.socket.recv(timeout=60)).get("method") != "Page.loadEventFired":
            pass

    def close(self) -> None:
        self.socket.close()
        self.process.terminate()
        self.process.wait(timeout=30)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
