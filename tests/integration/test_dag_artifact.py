"""The DAG artifact as a person sees it in Prefect's default UI: a picture, checked in a browser.

The default UI shows a mermaid block as code (only the V2 UI draws it), so the artifact carries
an SVG image too. Here a real server with the UI on serves the artifact page to headless
chromium; the page's DOM must hold the image and its screenshot the decision colours.
"""
import base64
import html
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from itasks import Diamond, Left, Named
from PIL import Image

import luisy
from luisy.testing.server import PrefectServer
from luisy.visualize import COLOURS

pytestmark = pytest.mark.prefect

CHROMIUM = shutil.which("chromium")
IMAGE = re.compile(r'<img [^>]*src="(data:image/svg\+xml;base64,[^"]+)"')
QUOTED = 'a "b" {c} <d> & e\'s'


@pytest.fixture(scope="module")
def ui_server():
    """A server of our own with the default UI on; the session's has it off (``QUIET_ENV``).

    ``PrefectServer.start`` points this process's environment at the server it started; the
    session's settings are restored at once and builds reach this one by ``temporary_settings``.
    """
    from prefect.settings import PREFECT_API_URL, temporary_settings

    saved = dict(os.environ)
    server = PrefectServer(ui=True)
    server.start()
    os.environ.clear()
    os.environ.update(saved)
    try:
        with temporary_settings({PREFECT_API_URL: server.api_url}):
            yield server
    finally:
        server.stop()


def _dag_artifact(flow_run_id, key):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    return next(a for a in artifacts if a.key == key)


def _chromium(url, profile, *args):
    """Run headless chromium on ``url``; a generous virtual-time budget lets the UI's API calls
    and its markdown web worker finish before the page is read."""
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--window-size=1400,1000", "--virtual-time-budget=15000",
           f"--user-data-dir={profile}", *args, url]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def _open_artifact_page(server, artifact, tmp_path):
    """The artifact page's DOM and a screenshot of it, once the DAG image is in the page (a
    cold UI may need a retry: the server copies its static files on the first request)."""
    url = f"{server.api_url.removesuffix('/api')}/artifacts/artifact/{artifact.id}"
    profile, shot = tmp_path / "chromium-profile", tmp_path / "dag-artifact.png"
    for _ in range(3):
        dom = _chromium(url, profile, "--dump-dom")
        if IMAGE.search(dom):
            _chromium(url, profile, f"--screenshot={shot}")
            return dom, shot
    raise AssertionError(f"no DAG image in the artifact page {url}:\n{dom[-3000:]}")


def _near(pixels, hex_colour, tolerance=4):
    """Where the screenshot has this colour (give or take anti-aliasing)."""
    want = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
    return (np.abs(pixels.astype(int) - want) <= tolerance).all(axis=2)


@pytest.mark.skipif(CHROMIUM is None, reason="needs headless chromium")
def test_the_default_ui_shows_the_dag_as_a_picture_coloured_by_decision(
        ui_server, working_dir, tmp_path):
    assert luisy.build(Left()).ok  # Upstream and Left complete: the diamond has two decisions
    summary = luisy.build(Diamond())
    assert summary.ok, summary.errors
    artifact = _dag_artifact(summary.flow_run_id, "luisy-dag-diamond")
    assert "```mermaid" in artifact.data  # still there for the V2 UI

    dom, shot = _open_artifact_page(ui_server, artifact, tmp_path)
    assert IMAGE.search(dom).group(1) in artifact.data
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert pixels.shape == (1000, 1400, 3)
    masks = {kind: _near(pixels, colour) for kind, colour in COLOURS.items()}
    # a task box is ~50-80 x 28 px: two boxes of each decision, well above anti-aliasing noise
    areas = {kind: int(masks[kind].sum()) for kind in ("complete", "run")}
    assert all(area > 2500 for area in areas.values()), (areas, shot)
    ys, xs = np.nonzero(masks["complete"] | masks["run"])
    picture = slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1)
    # no box of another decision in the picture (anti-aliased text makes a few greys)
    stray = {kind: int(masks[kind][picture].sum()) for kind in COLOURS if kind not in areas}
    assert all(area < 300 for area in stray.values()), (stray, shot)


@pytest.mark.skipif(CHROMIUM is None, reason="needs headless chromium")
def test_labels_with_quotes_braces_and_markup_characters_show_as_written(
        ui_server, working_dir, tmp_path):
    summary = luisy.build(Named(label=QUOTED))
    assert summary.ok, summary.errors
    artifact = _dag_artifact(summary.flow_run_id, "luisy-dag-named")
    markdown = artifact.data
    encoded = re.search(r"\(data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)\)", markdown).group(1)
    svg = ET.fromstring(base64.b64decode(encoded))  # well-formed XML: escapes are right
    texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert f"label={QUOTED}" in texts

    dom, _ = _open_artifact_page(ui_server, artifact, tmp_path)
    heading = re.search(r'class="[^"]*markdown-renderer__heading[^"]*">(.*?)</div>', dom)
    assert _text(heading.group(1)) == f"Named(label={QUOTED})"
    description = re.search(r'class="artifact-description">(.*?)</section>', dom)
    assert _text(description.group(1)) == (
        f"luisy DAG of Named(label={QUOTED}), coloured by decision")


def _text(markup):
    return html.unescape(re.sub(r"<[^>]*>", "", markup))
