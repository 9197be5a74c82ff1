"""The built site, opened as a reader opens it (issue 18): every page in headless Chromium,
served over HTTP; no internal link leads nowhere (page or anchor), no image fails to load.

Chromium is driven through its DevTools protocol (:class:`luisy.testing.browser.Browser`): the
page's own DOM after its scripts ran says which images loaded (``naturalWidth``) and where each
link points.
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import json
import shutil
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urldefrag, urlparse

import pytest

from luisy.testing.browser import Browser

CHROMIUM = shutil.which("chromium")

#: what one page tells: its images that did not load, its links, the ids its anchors may name
INSPECT = """JSON.stringify({
  broken: [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src),
  images: document.images.length,
  links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  ids: [...document.querySelectorAll('[id]')].map(e => e.id),
  title: document.title,
})"""


@contextlib.contextmanager
def serving(directory: Path) -> Iterator[str]:
    """``directory`` over HTTP on 127.0.0.1 (its base URL)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def browser(tmp_path):
    assert CHROMIUM, "chromium is installed by .ci/run (Debian's package)"
    with Browser(tmp_path / "profile") as opened:
        yield opened


def inspect(browser: Browser, url: str) -> dict:
    """Load ``url``; what :data:`INSPECT` finds there."""
    browser.load(url)
    return json.loads(browser.evaluate(INSPECT))


def _exists(url: str) -> bool:
    try:
        with urllib.request.urlopen(url):
            return True
    except urllib.error.HTTPError:
        return False


def problems_of(site: Path, base: str, browser: Browser) -> tuple[list[str], int]:
    """What a reader of the site at ``base`` would hit, opening each of its pages (the
    folders of ``site`` with an ``index.html``); and how many pages were opened."""
    pages = sorted(p.relative_to(site).parent.as_posix() for p in site.rglob("index.html"))
    seen = {url: inspect(browser, url) for url in sorted(
        f"{base}/" if page == "." else f"{base}/{page}/" for page in pages)}
    opened, problems = len(seen), []
    for url, page in list(seen.items()):
        problems += [f"{url}: image not loaded: {src}" for src in page["broken"]]
        for link in page["links"]:
            target, anchor = urldefrag(link)
            if urlparse(link).netloc != urlparse(base).netloc:
                continue  # another site: not ours to check
            if target not in seen:
                if not _exists(target):
                    problems.append(f"{url}: link to a page that is not there: {link}")
                    continue
                seen[target] = inspect(browser, target)
            if anchor and anchor not in seen[target]["ids"]:
                problems.append(f"{url}: link to an anchor that is not there: {link}")
    return problems, opened


def test_every_page_loads_with_its_images_and_no_internal_link_is_broken(built_site, browser):
    with serving(built_site) as base:
        problems, opened = problems_of(built_site, base, browser)
    assert not problems, "\n".join(problems)
    assert opened >= 9  # the nav's pages


def test_the_check_finds_a_missing_image_page_and_anchor(tmp_path, browser):
    site = tmp_path / "site"
    (site / "other").mkdir(parents=True)
    (site / "other" / "index.html").write_text('<title>other</title><h2 id="here">x</h2>')
    (site / "index.html").write_text(
        '<title>home</title><img src="missing.png"><a href="other/#here">ok</a>'
        '<a href="other/#gone">anchor</a><a href="nowhere/">page</a>')
    with serving(site) as base:
        problems, _ = problems_of(site, base, browser)
    assert [p.split(": ", 1)[1].split(":")[0] for p in problems] == [
        "image not loaded", "link to an anchor that is not there",
        "link to a page that is not there"]
