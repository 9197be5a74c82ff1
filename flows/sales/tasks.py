"""A monthly sales pipeline: raw csv -> cleaned parquet -> summary csv -> all months -> report.

Run it: ``luisy --module flows.sales.tasks SalesReport --working-dir data --no-ask``.
"""
import os

import pandas as pd

import luisy
from flows.sales.helpers import CURRENCY, clean_orders, summarise

DATA_DIR = os.path.join(os.path.dirname(__file__), "data")


@luisy.project_name("sales")
@luisy.csv_output
class RawSales(luisy.ExternalTask):
    """Monthly order exports, delivered by another system (bundled sample data here)."""

    month = luisy.MonthParameter()

    def get_outdir(self) -> str:
        return DATA_DIR

    def get_file_name(self) -> str:
        return f"sales_{self.month:%Y-%m}"


@luisy.project_name("sales")
@luisy.interim
@luisy.requires(RawSales)
@luisy.parquet_output
class CleanSales(luisy.Task):
    month = luisy.MonthParameter()
    min_quantity = luisy.IntParameter(default=1)

    def run(self):
        df = self.input().read()
        cleaned = clean_orders(df, self.min_quantity)
        self.logger.info("%s: kept %d of %d orders", self, len(cleaned), len(df))
        self.write(cleaned)


@luisy.project_name("sales")
@luisy.interim
@luisy.requires(CleanSales)
@luisy.csv_output
class MonthlySummary(luisy.Task):
    def run(self):
        summary = summarise(self.input().read())
        summary.insert(0, "month", f"{self.month:%Y-%m}")
        self.write(summary)


@luisy.project_name("sales")
@luisy.final
@luisy.csv_output
class AllMonths(luisy.ConcatenationTask):
    """Fan-in: every month's summary in one table."""

    months = luisy.ListParameter(default=["2024-01", "2024-02", "2024-03"],
                                 items=luisy.MonthParameter(),
                                 description="The months of the report, YYYY-MM each.")
    min_quantity = luisy.IntParameter(default=1,
                                      description="Sales of fewer items are left out.")

    def requires(self):
        return [MonthlySummary(month=m, min_quantity=self.min_quantity) for m in self.months]

    def preprocess(self, df: pd.DataFrame) -> pd.DataFrame:
        return df.sort_values(["month", "region", "product"]).reset_index(drop=True)


@luisy.project_name("sales")
@luisy.final
@luisy.requires(AllMonths)
@luisy.pickle_output
class SalesReport(luisy.Task):
    """Totals by region and the best product, as a dict for a dashboard."""

    def run(self):
        df = self.input().read()
        by_region = df.groupby("region")["revenue"].sum().round(2)
        best = df.groupby("product")["revenue"].sum().idxmax()
        self.write({
            "currency": CURRENCY,
            "months": list(self.months),
            "revenue_by_region": by_region.to_dict(),
            "total_revenue": round(float(by_region.sum()), 2),
            "best_product": best,
        })
