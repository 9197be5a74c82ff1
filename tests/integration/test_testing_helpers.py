"""``LuisyTestCase`` and the ``luisy_pipeline`` fixture on the sales example, as a user would.

The pipeline runs for real (Prefect flows on the session's server) in a temporary working
dir, from outputs the test hands in: hand-made order exports for ``RawSales`` instead of the
bundled files, which the run must neither read nor write.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from prefect_api import flow_run, task_runs

ROOT = Path(__file__).resolve().parents[2]

from flows.sales.tasks import (  # noqa: E402
    DATA_DIR,
    AllMonths,
    CleanSales,
    MonthlySummary,
    RawSales,
    SalesReport,
)

import luisy  # noqa: E402
from luisy.testing import SUMMARY_KEYS, LuisyTestCase, run_isolated  # noqa: E402

# the plugin's fixtures, whether or not the pytest11 entry point is installed yet
from luisy.testing.pytest_plugin import luisy_pipeline, luisy_prefect_api  # noqa: E402, F401

MONTHS = ["2024-01", "2024-02"]


def orders(month: str, *rows: tuple[str, str, int, float]) -> pd.DataFrame:
    """An order export of ``month``: rows of (region, product, quantity, unit price)."""
    return pd.DataFrame(
        [{"order_id": f"{month}-{i:04d}", "date": f"{month}-15", "region": region,
          "product": product, "quantity": quantity, "unit_price": price}
         for i, (region, product, quantity, price) in enumerate(rows)])


def raw_outputs() -> list[tuple[luisy.Task, pd.DataFrame]]:
    return [
        (RawSales(month="2024-01"), orders("2024-01", ("north", "apples", 2, 1.5),
                                           ("south", "pears", 0, 9.0))),  # dropped: quantity 0
        (RawSales(month="2024-02"), orders("2024-02", ("north", "pears", 1, 4.0),
                                           ("south", "pears", 3, 2.0))),
    ]


def report() -> SalesReport:
    return SalesReport(months=MONTHS)


def chain(month: str) -> set[luisy.Task]:
    return {CleanSales(month=month), MonthlySummary(month=month)}


def bundled_data_digest() -> str:
    digest = hashlib.sha256()
    for name in sorted(os.listdir(DATA_DIR)):
        digest.update(name.encode())
        digest.update(Path(DATA_DIR, name).read_bytes())
    return digest.hexdigest()


@pytest.mark.usefixtures("prefect_server")
class TestSalesPipeline(LuisyTestCase):
    def test_run_pipeline_returns_the_root_output(self):
        result = self.run_pipeline(report(), existing_outputs=raw_outputs())
        assert result == {
            "currency": "EUR",
            "months": MONTHS,
            "revenue_by_region": {"north": 7.0, "south": 6.0},
            "total_revenue": 13.0,
            "best_product": "pears",
        }

    def test_return_store_maps_every_task_to_its_output(self):
        store = self.run_pipeline(report(), existing_outputs=raw_outputs(), return_store=True)
        assert set(store) == {*(t for t, _ in raw_outputs()), *chain("2024-01"),
                              *chain("2024-02"), AllMonths(months=MONTHS), report()}
        cleaned = store[CleanSales(month="2024-01")]
        assert list(cleaned["revenue"]) == [3.0]  # read back from its parquet file
        assert list(store[AllMonths(months=MONTHS)]["month"]) == ["2024-01", "2024-02", "2024-02"]

    def test_summary_has_luisy_1_keys_and_the_tasks_that_ran(self):
        summary = self.get_execution_summary(report(), existing_outputs=raw_outputs())
        assert tuple(summary) == SUMMARY_KEYS
        assert summary["completed"] == {*chain("2024-01"), *chain("2024-02"),
                                        AllMonths(months=MONTHS), report()}
        assert summary["already_done"] == {t for t, _ in raw_outputs()}
        assert not any(summary[k] for k in SUMMARY_KEYS if k not in ("completed", "already_done"))

    def test_it_runs_as_a_real_prefect_flow(self):
        self.assertSuccess(MonthlySummary(month="2024-02"), existing_outputs=raw_outputs()[1:])
        run_id = self.last_run.build.flow_run_id
        assert flow_run(run_id).state.is_completed()
        names = {r.name for r in task_runs(run_id, expected=2)}
        assert names == {"CleanSales(month=2024-02, min_quantity=1)",
                         "MonthlySummary(month=2024-02, min_quantity=1)"}

    def test_given_outputs_count_as_complete_and_are_not_rerun(self):
        given = [(MonthlySummary(month=m), pd.DataFrame(
            {"month": [m], "region": ["west"], "product": ["kiwis"], "orders": [1],
             "quantity": [1], "revenue": [float(i + 1)]})) for i, m in enumerate(MONTHS)]
        summary = self.get_execution_summary(report(), existing_outputs=given)
        assert summary["completed"] == {AllMonths(months=MONTHS), report()}
        assert summary["already_done"] == {t for t, _ in given}  # nothing below them is looked at
        assert self.last_run.output["total_revenue"] == 3.0

    def test_missing_external_data(self):
        self.assertMissing(report(), existing_outputs=raw_outputs()[:1])
        summary = self.last_run.summary
        assert summary["still_pending_ext"] == {RawSales(month="2024-02")}
        assert summary["upstream_missing_dependency"] == {
            *chain("2024-02"), AllMonths(months=MONTHS), report()}
        assert summary["still_pending_not_ext"] == chain("2024-01")  # would have run
        assert summary["completed"] == set()
        self.assertFail(report())  # luigi: a missing dependency is not a success either

    def test_a_failing_task_fails_its_downstream(self):
        broken = [(RawSales(month="2024-01"), pd.DataFrame({"order_id": ["x"]})),
                  raw_outputs()[1]]
        self.assertFail(report(), existing_outputs=broken)
        summary = self.last_run.summary
        assert summary["failed"] == {CleanSales(month="2024-01")}
        assert summary["upstream_failure"] == {
            MonthlySummary(month="2024-01"), AllMonths(months=MONTHS), report()}
        assert summary["completed"] == chain("2024-02")
        assert "quantity" in self.last_run.build.errors[CleanSales(month="2024-01")]
        with pytest.raises(self.failureException, match="pipeline did not succeed"):
            self.run_pipeline(report(), existing_outputs=broken)

    def test_assert_helpers_fail_with_the_summary(self):
        with pytest.raises(self.failureException, match="expected success"):
            self.assertSuccess(report())
        with pytest.raises(self.failureException, match="expected the pipeline to fail"):
            self.assertFail(report(), existing_outputs=raw_outputs())
        with pytest.raises(self.failureException, match="expected missing external data"):
            self.assertMissing(report(), existing_outputs=[(RawSales(month="2024-01"),
                                                            pd.DataFrame({"x": [1]})),
                                                           raw_outputs()[1]])

    def test_the_users_working_dir_and_the_bundled_data_are_untouched(self):
        user_dir = os.path.join(os.path.dirname(__file__), "never-written")
        luisy.Config().set_param("working_dir", user_dir)
        before = bundled_data_digest()
        try:
            self.run_pipeline(report(), existing_outputs=raw_outputs())
            assert luisy.Config().get_param("working_dir") == user_dir
        finally:
            luisy.Config().reset()
        assert not os.path.exists(user_dir)
        assert bundled_data_digest() == before

    def test_existing_outputs_outside_the_graph_are_ignored_as_in_1x(self):
        result = self.run_pipeline(report(), existing_outputs=[
            *raw_outputs(), (RawSales(month="2023-12"), None)])
        assert result is not None

    def test_existing_outputs_outside_the_graph_can_be_refused(self):
        self.strict_existing_outputs = True
        with pytest.raises(ValueError, match=r"RawSales\(month=2023-12\) is not part of"):
            self.run_pipeline(report(), existing_outputs=[(RawSales(month="2023-12"), None)])

    def test_a_wrapper_root_returns_its_wrapped_outputs(self):
        months = MonthlyWrapper(months=MONTHS)
        result = self.run_pipeline(months, existing_outputs=raw_outputs())
        assert [list(df["region"]) for df in result] == [["north"], ["north", "south"]]


class MonthlyWrapper(luisy.WrapperTask):
    months = luisy.ListParameter()

    def requires(self):
        return [MonthlySummary(month=m) for m in self.months]


# ------------------------------------------------------------------------ pytest fixture
@pytest.mark.usefixtures("prefect_server")
def test_fixture_gives_the_same_summary_as_the_test_case(luisy_pipeline):  # noqa: F811
    run = luisy_pipeline.run(report(), existing_outputs=raw_outputs())
    assert dict(run) == run_isolated(report(), raw_outputs()).summary
    assert run.ok and run["completed"] >= chain("2024-01")
    assert run.output["best_product"] == "pears"
    assert luisy_pipeline.runs == [run]


@pytest.mark.usefixtures("prefect_server")
def test_plugin_works_in_a_users_pytest_run(tmp_path):
    """A user's test file in its own pytest process, with the plugin as pytest loads it."""
    (tmp_path / "test_user.py").write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        import pandas as pd
        from flows.sales.tasks import MonthlySummary, RawSales

        def test_summary(luisy_pipeline):
            raw = pd.DataFrame({{"order_id": ["a"], "date": ["2024-01-02"],
                                 "region": ["north"], "product": ["figs"], "quantity": [4],
                                 "unit_price": [0.5]}})
            run = luisy_pipeline.run(MonthlySummary(month="2024-01"),
                                     existing_outputs=[(RawSales(month="2024-01"), raw)])
            assert run.ok, run.describe()
            assert run.output["revenue"].tolist() == [2.0]
    """))
    installed = any(ep.name == "luisy" and ep.value == "luisy.testing.pytest_plugin"
                    for ep in importlib.metadata.entry_points(group="pytest11"))
    plugin = [] if installed else ["-p", "luisy.testing.pytest_plugin"]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *plugin,
         str(tmp_path / "test_user.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
