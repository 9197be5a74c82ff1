"""A small pipeline for the cloud sync tests: external sales -> Clean(month) -> Report.

    Sales(month) (a csv from outside) -> Clean(month) (a pickle) -> Report (a json)
    Notes (a folder output, made by Collect)
"""
import os

import luisy

project = luisy.project_name("synctest")
MONTHS = ("2024-01", "2024-02")


@project
@luisy.raw
@luisy.csv_output
class Sales(luisy.ExternalTask):
    month = luisy.MonthParameter()


@project
@luisy.interim
@luisy.requires(Sales)
class Clean(luisy.Task):
    def run(self):
        df = self.input().read()
        self.write(float(df["amount"].sum()))


@project
@luisy.final
@luisy.json_output
class Report(luisy.Task):
    def requires(self):
        return [Clean(month=m) for m in MONTHS]

    def run(self):
        self.write({str(t.month)[:7]: t.read() for t in self.requires()})


def write_sales(working_dir, amounts=(1.0, 2.0)) -> None:
    """The raw csv of every month, as another system would drop them."""
    for month in MONTHS:
        path = os.path.join(working_dir, "synctest", "raw", f"Sales_month={month}-01.csv")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as fh:
            fh.write("amount\n" + "\n".join(str(a) for a in amounts) + "\n")


@project
class Cleans(luisy.WrapperTask):
    """Every month's Clean, without a Report (a root with nothing of its own to download)."""

    def requires(self):
        return [Clean(month=m) for m in MONTHS]
