"""Every code block of the documentation runs (issue 18): each page's Python and shell blocks,
in order, in a fresh dir, on the test session's Prefect server, the embedded Spark engine and
local storage emulators (Azurite, moto's S3), as a reader would paste them.

A block that cannot run here (a real Databricks workspace) says so on the line before it,
``<!-- not run: why -->``, and there are few.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from page_prefect import prefect_page  # noqa: F401 (fixtures of pages)
from page_spark import spark_page  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
FENCE = re.compile(r"^(?:<!-- not run: (?P<why>[^\n]*?) -->\n)?```(?P<lang>python|bash)[^\n]*\n"
                   r"(?P<code>.*?)^```[ \t]*$", re.M | re.S)

pytestmark = pytest.mark.usefixtures("prefect_server")


def blocks_of(page: Path) -> list[dict]:
    """The page's Python and shell blocks: where, which language, the code, and why not run
    (None: run)."""
    text = page.read_text()
    return [{"page": f"docs/{page.name}", "line": text[:m.start("code")].count("\n") + 1,
             "lang": m["lang"], "code": m["code"], "why": m["why"]}
            for m in FENCE.finditer(text)]


PAGES = sorted(p for p in DOCS.glob("*.md") if blocks_of(p))


@pytest.fixture
def reader_dir(tmp_path, monkeypatch) -> Path:
    """A fresh dir where ``.venv`` is this environment (so ``.venv/bin/luisy`` is the luisy
    under test) and the repository's example pipelines import (``flows``)."""
    work = tmp_path / "reader"
    work.mkdir()
    (work / ".venv").symlink_to(sys.prefix)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return work


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_block_of_the_page_runs(page, reader_dir, request):
    blocks = [b for b in blocks_of(page) if b["why"] is None]
    for setup in PAGE_SETUP.get(page.name, ()):
        request.getfixturevalue(setup)
    listing = reader_dir / "blocks.json"
    listing.write_text(json.dumps(blocks))
    done = subprocess.run([sys.executable, str(Path(__file__).with_name("run_blocks.py")),
                           str(listing)], cwd=reader_dir, capture_output=True, text=True,
                          timeout=1200)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-6000:]


def test_few_blocks_are_not_run_and_each_says_why():
    every = [b for page in PAGES for b in blocks_of(page)]
    not_run = [b for b in every if b["why"] is not None]
    assert all(b["why"].strip() for b in not_run)
    assert len(not_run) <= 0.15 * len(every), [f"{b['page']}:{b['line']}" for b in not_run]


def test_no_block_hides_from_the_check():
    """A fence the pattern does not see (indented in a list) would never be run."""
    for page in DOCS.glob("*.md"):
        for number, line in enumerate(page.read_text().splitlines(), 1):
            assert not re.match(r"\s+```(python|bash)", line), f"{page.name}:{number}"


# ----------------------------------------------------------------- what some pages need
@pytest.fixture
def team_storage(monkeypatch):
    """cloud.md's remotes: an Azure container ``outputs`` (Azurite) and an S3 bucket
    ``team-lake`` (moto), their credentials where fsspec finds them."""
    import fsspec

    from luisy.testing.storage import Azurite, MotoS3

    with Azurite() as azurite, MotoS3() as s3:
        monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.access_key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.secret_key)
        monkeypatch.setenv("AWS_ENDPOINT_URL", s3.url)
        monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
        fsspec.core.url_to_fs("abfs://x", **azurite.remote_options)[0].mkdir("outputs")
        fsspec.core.url_to_fs("s3://x", **s3.remote_options)[0].mkdir("team-lake")
        yield


PAGE_SETUP = {"cloud.md": ("team_storage",), "prefect.md": ("prefect_page",),
              "spark.md": ("spark_page",)}
