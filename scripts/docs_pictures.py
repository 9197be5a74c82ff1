"""Make the documentation's pictures from a real run of the sales example: one command.

    .venv/bin/python scripts/docs_pictures.py            # all pictures
    .venv/bin/python scripts/docs_pictures.py --svg-only # only docs/images/sales-plan.svg

What it makes, in ``docs/images/``:

- ``sales-plan.svg``: the plan of ``SalesReport()`` (``flows/sales/tasks.py``), drawn by
  ``luisy.visualize.to_svg`` and coloured by decision. The plan is a real one, made in a temp
  working dir from a copy of the bundled raw data (``flows/sales/data``, never changed): first
  only January and February are built, then January's cleaned (interim) output is deleted and
  February's raw csv copy gets one more order. The plan of the three-month report then shows
  every kind of decision a day-to-day rerun has: complete (the raw data, January's summary),
  not needed (January's cleaning: its user is complete), will run because the input data
  changed (February's cleaning), and will run (February's summary: upstream changed; March and
  the report: no output).
- ``prefect-flow-run.png``, ``prefect-artifacts.png``, ``prefect-dag-artifact.png``,
  ``prefect-run-form.png``: screenshots of Prefect's default UI (headless Chromium, 1400x900)
  on a throwaway ``prefect server`` with the UI on (``luisy.testing.server.PrefectServer``):
  the flow run of that same rerun with its graph, its Artifacts tab (the plan table, the DAG
  and the outputs luisy published), the DAG artifact's page (the picture, coloured by
  decision), and the run form of the ``SalesReport/monthly`` deployment of ``prefect.yaml``
  (its parameters, as ``prefect deploy`` registers them).

Idempotent: every run starts from fresh temp dirs and overwrites the pictures. The SVG is the
same byte for byte on every run; the screenshots differ only in what Prefect makes up per run
(the flow run's name is fixed here, but times, durations and ids are not).
``tests/docs/test_pictures.py`` checks that the SVG is the plan drawing of today's code.
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from luisy.testing.browser import Browser

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # flows.sales lives in the checkout, next to src/
    sys.path.insert(0, str(ROOT))

IMAGES = ROOT / "docs" / "images"
SVG = IMAGES / "sales-plan.svg"
SCREENSHOTS = {
    "flow-run": IMAGES / "prefect-flow-run.png",
    "artifacts": IMAGES / "prefect-artifacts.png",
    "dag-artifact": IMAGES / "prefect-dag-artifact.png",
    "run-form": IMAGES / "prefect-run-form.png",
}
WINDOW = (1400, 900)
#: the months built first; the report (``SalesReport()``) is over all three of the sample data
FIRST_MONTHS = ["2024-01", "2024-02"]
#: one more order delivered for February (the copy's csv is rewritten with it)
NEW_ORDER = {"order_id": "2024-02-0200", "date": "2024-02-29", "region": "north",
             "product": "pears", "quantity": 3, "unit_price": 2.4}
FLOW_RUN_NAME = "sales-report-rerun"


# ------------------------------------------------------------------------ the plan
@contextlib.contextmanager
def raw_data_copy(folder: Path) -> Iterator[Path]:
    """``RawSales`` reads a copy of the bundled data in ``folder`` while inside."""
    from flows.sales import tasks

    raw = folder / "raw"
    shutil.copytree(tasks.DATA_DIR, raw)
    original = tasks.RawSales.get_outdir
    tasks.RawSales.get_outdir = lambda self: str(raw)
    try:
        yield raw
    finally:
        tasks.RawSales.get_outdir = original


def deliver_one_more_order(raw: Path, month: str = "2024-02") -> None:
    """Another system rewrites a month's export: the same orders and one more."""
    import pandas as pd

    path = raw / f"sales_{month}.csv"
    orders = pd.read_csv(path)
    orders = pd.concat([orders, pd.DataFrame([NEW_ORDER])[list(orders.columns)]],
                       ignore_index=True)
    orders.to_csv(path, index=False)


def prepare_rerun(working_dir: Path, raw: Path) -> None:
    """Build January and February, then change what a rerun of the whole report sees."""
    from flows.sales.tasks import CleanSales, SalesReport

    import luisy

    with contextlib.redirect_stdout(io.StringIO()):
        summary = luisy.build(SalesReport(months=FIRST_MONTHS), working_dir=str(working_dir))
    if not summary.ok:
        raise RuntimeError(f"the first build failed: {summary.errors}")
    from luisy.config import for_build, use

    with use(for_build({"working_dir": str(working_dir)})):
        CleanSales(month="2024-01").output().remove()
    deliver_one_more_order(raw)


def rerun_plan(working_dir: Path):
    """The plan of ``SalesReport()`` under ``working_dir`` (what a build would do now)."""
    from flows.sales.tasks import SalesReport

    from luisy.config import for_build, use
    from luisy.runner import plan_build

    with use(for_build({"working_dir": str(working_dir)})):
        return plan_build(SalesReport())


def plan_svg(folder: Path) -> str:
    """The SVG of the rerun's plan, made in ``folder`` (a Prefect API must be configured)."""
    from luisy.visualize import to_svg

    working_dir = folder / "wd"
    working_dir.mkdir(parents=True)
    with raw_data_copy(folder) as raw:
        prepare_rerun(working_dir, raw)
        return to_svg(rerun_plan(working_dir))


# ---------------------------------------------------------------------- screenshots
class UIBrowser(Browser):
    """The Prefect UI in :class:`~luisy.testing.browser.Browser`, a 1400x900 tab: open a
    page, wait until the UI shows what it should, click a tab, take a screenshot."""

    def __init__(self, profile: Path):
        super().__init__(profile, window=WINDOW)

    def wait_for(self, text: str, timeout: float = 60) -> None:
        """Until the page's text holds ``text``; then a moment for pictures and the graph."""
        deadline = time.monotonic() + timeout
        check = f"document.body && document.body.innerText.includes({json.dumps(text)})"
        while not self.evaluate(check):
            if time.monotonic() > deadline:
                tail = self.evaluate("document.body ? document.body.innerText : ''") or ""
                raise RuntimeError(f"the page never showed {text!r}; it shows: {tail[-2000:]}")
            time.sleep(0.3)
        time.sleep(2)

    def wait_for_image(self, timeout: float = 30) -> None:
        """Until the page's images are loaded (the DAG artifact is an SVG image)."""
        deadline = time.monotonic() + timeout
        while not self.evaluate("document.images.length > 0 && [...document.images]"
                                ".every(i => i.complete && i.naturalWidth > 0)"):
            if time.monotonic() > deadline:
                raise RuntimeError("the page's images did not load")
            time.sleep(0.3)
        time.sleep(1)

    def open(self, url: str, ready: str) -> None:
        self.call("Page.navigate", url=url)
        self.wait_for(ready)

    def click(self, selector: str, text: str) -> None:
        """Click the innermost ``selector`` element whose text is ``text`` (a tab, a button)."""
        found = self.evaluate(
            f"(() => {{ const e = [...document.querySelectorAll({json.dumps(selector)})]"
            f".filter(e => e.innerText && e.innerText.trim() === {json.dumps(text)}).pop();"
            " if (!e) return false; e.click(); return true; })()")
        if not found:
            raise RuntimeError(f"no {selector} saying {text!r} to click")

    def scroll_to(self, text: str) -> None:
        """Scroll the innermost element whose text is ``text`` to the top of the window."""
        self.evaluate(
            "(() => { const e = [...document.querySelectorAll('*')]"
            f".filter(e => e.innerText && e.innerText.trim() === {json.dumps(text)}).pop();"
            " if (e) e.scrollIntoView({block: 'start'}); })()")
        time.sleep(1)

    def screenshot(self, path: Path) -> None:
        """A PNG of the window, made small: 256-colour palette, optimised."""
        from PIL import Image

        shot = self.call("Page.captureScreenshot", format="png")
        with Image.open(io.BytesIO(base64.b64decode(shot["data"]))) as image:
            small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
            small.save(path, optimize=True)


def monthly_deployment(flow) -> str:
    """``SalesReport/monthly`` as ``prefect.yaml`` describes it (no work pool needed to show
    its form): the id of the deployment."""
    import yaml

    spec = next(d for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
                if d["name"] == "monthly")
    deployment = flow.to_deployment(name=spec["name"], description=spec["description"],
                                    tags=spec["tags"], parameters=spec["parameters"])
    return str(deployment.apply())


def dag_artifact(flow_run_id) -> str:
    """The id of the DAG artifact luisy published for the flow run."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    return str(next(a.id for a in artifacts if a.key == "luisy-dag-salesreport"))


def name_flow_run(flow_run_id) -> None:
    """A fixed name instead of Prefect's random one (``wonderful-hound``)."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        client.update_flow_run(flow_run_id, name=FLOW_RUN_NAME)


@contextlib.contextmanager
def ui_server() -> Iterator[str]:
    """A throwaway Prefect server with the default UI on; flows inside report to it. Yields
    the UI's base URL. (``PrefectServer.start`` points this process's environment at it: the
    environment is restored at once and the API is set by ``temporary_settings``.)"""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from luisy.testing.server import PrefectServer

    saved = dict(os.environ)
    server = PrefectServer(ui=True).start()
    os.environ.clear()
    os.environ.update(saved)
    try:
        with temporary_settings({PREFECT_API_URL: server.api_url}):
            yield server.api_url.removesuffix("/api")
    finally:
        server.stop()


def screenshots(folder: Path, ui: str) -> dict[str, Path]:
    """The rerun as a real flow run on the server of ``ui``, and the three screenshots."""
    from flows.sales.tasks import SalesReport

    import luisy

    working_dir = folder / "wd"
    working_dir.mkdir(parents=True)
    with raw_data_copy(folder) as raw:
        prepare_rerun(working_dir, raw)
        with contextlib.redirect_stdout(io.StringIO()):
            summary = luisy.build(SalesReport(), working_dir=str(working_dir))
        if not summary.ok:
            raise RuntimeError(f"the rerun failed: {summary.errors}")
    name_flow_run(summary.flow_run_id)
    deployment_id = monthly_deployment(luisy.flow(SalesReport))
    run_url = f"{ui}/runs/flow-run/{summary.flow_run_id}"
    browser = UIBrowser(folder / "chromium-profile")
    try:
        # a cold UI copies its static files on the first request: open it once first
        browser.open(f"{ui}/dashboard", "Dashboard")
        browser.open(run_url, "AllMonths(")
        browser.screenshot(SCREENSHOTS["flow-run"])
        browser.click("*", "Artifacts")
        browser.wait_for("luisy-dag-salesreport")
        browser.scroll_to("Artifacts")
        browser.screenshot(SCREENSHOTS["artifacts"])
        browser.open(f"{ui}/artifacts/artifact/{dag_artifact(summary.flow_run_id)}",
                     "luisy DAG of")
        browser.wait_for_image()
        browser.screenshot(SCREENSHOTS["dag-artifact"])
        browser.open(f"{ui}/deployments/deployment/{deployment_id}/run", "min_quantity")
        browser.screenshot(SCREENSHOTS["run-form"])
    finally:
        browser.close()
    return SCREENSHOTS


def write_svg(folder: Path) -> None:
    folder.mkdir()
    SVG.write_text(plan_svg(folder) + "\n", encoding="utf-8")
    print(f"{SVG.relative_to(ROOT)}: {SVG.stat().st_size:,} bytes")


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--svg-only", action="store_true",
                        help="only the plan picture (a Prefect API is started if none answers)")
    args = parser.parse_args(argv)
    IMAGES.mkdir(parents=True, exist_ok=True)
    import logging

    logging.getLogger("prefect").setLevel(logging.WARNING)  # no "Task run ..." lines
    with tempfile.TemporaryDirectory(prefix="luisy-docs-pictures-") as tmp:
        if args.svg_only:
            from luisy.testing.case import ensure_prefect_api, use_prefect_api

            with use_prefect_api(ensure_prefect_api()):
                write_svg(Path(tmp) / "plan")
            return 0
        with ui_server() as ui:
            write_svg(Path(tmp) / "plan")
            for path in screenshots(Path(tmp) / "ui", ui).values():
                print(f"{path.relative_to(ROOT)}: {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
