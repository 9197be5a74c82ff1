"""The documentation site (issue 18): built by the README's command, strict (a warning, such as
a broken link or a docstring mkdocstrings cannot read, fails the build)."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _nav_pages(nav: list) -> list[str]:
    pages = []
    for entry in nav:
        for value in entry.values():
            pages += _nav_pages(value) if isinstance(value, list) else [value]
    return pages


def test_the_site_builds_strictly_with_every_page_and_the_api(built_site):
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    assert config["strict"] is True
    pages = _nav_pages(config["nav"])
    docs = {p.name for p in (ROOT / "docs").glob("*.md")}
    assert docs == set(pages), "every page in docs/ is in the nav, and only those"
    for page in pages:
        built = built_site / ("index.html" if page == "index.md" else f"{page[:-3]}/index.html")
        assert built.exists(), page
    api = (built_site / "api" / "index.html").read_text()
    for name in ("luisy.tasks.base.Task", "luisy.runner.build", "luisy.config.Config",
                 "luisy.remote.block.RemoteStorage"):
        assert re.search(rf'id="{re.escape(name)}"', api), name
