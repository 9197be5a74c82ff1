"""Tasks over data delivered from outside, for the data-version tests (issue 16).

    RawSales(month) (a csv dropped by another system) -> CleanSales(month) -> SalesReport
    Deliveries (a folder of text files)                -> CountDeliveries
    Parts (a folder of parquet parts)                  -> SumParts
    Stamped (versioned by mtime) / Unversioned ("none") / Marked (a marker file's text)
                                                       -> Uses(source=...)
"""
import os

import pandas as pd

import luisy

project = luisy.project_name("dvtest")
MONTHS = ("2024-01", "2024-02")


@project
@luisy.raw
@luisy.csv_output
class RawSales(luisy.ExternalTask):
    month = luisy.MonthParameter()


@project
@luisy.interim
@luisy.requires(RawSales)
class CleanSales(luisy.Task):
    def run(self):
        df = self.input().read()
        self.write(float(df["amount"].sum()))


@project
@luisy.final
class SalesReport(luisy.Task):
    def requires(self):
        return [CleanSales(month=m) for m in MONTHS]

    def run(self):
        self.write({str(t.month)[:7]: t.read() for t in self.requires()})


def _read_text(path):
    with open(path) as fh:
        return fh.read()


@project
@luisy.raw
@luisy.make_directory_output(read_file_func=_read_text)
class Deliveries(luisy.ExternalTask):
    def get_folder_name(self):
        return "deliveries"


@project
@luisy.interim
@luisy.requires(Deliveries)
class CountDeliveries(luisy.Task):
    def run(self):
        self.write(sorted(self.input().read()))


@project
@luisy.raw
@luisy.parquetdir_output(outdir="parts")
class Parts(luisy.ExternalTask):
    pass


@project
@luisy.interim
@luisy.requires(Parts)
class SumParts(luisy.Task):
    def run(self):
        self.write(int(self.input().read()["x"].sum()))


@project
@luisy.raw
@luisy.data_version("mtime")
@luisy.csv_output
class Stamped(luisy.ExternalTask):
    pass


@project
@luisy.raw
@luisy.data_version("none")
@luisy.csv_output
class Unversioned(luisy.ExternalTask):
    pass


def marker_text(task):
    """The version of Marked: the text of ``READY`` beside its file (None: no marker)."""
    marker = os.path.join(os.path.dirname(task.output().path), "READY")
    return _read_text(marker).strip() if os.path.exists(marker) else None


@project
@luisy.raw
@luisy.data_version(marker_text)
@luisy.csv_output
class Marked(luisy.ExternalTask):
    pass


SOURCES = {"mtime": Stamped, "none": Unversioned, "marker": Marked}


@project
@luisy.interim
class Uses(luisy.Task):
    source = luisy.Parameter()

    def requires(self):
        return SOURCES[self.source]()

    def run(self):
        self.write(int(self.input().read()["amount"].sum()))


def write_csv(task, amounts):
    """Deliver ``task``'s csv as another system would (no luisy involved)."""
    path = task.output().path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pd.DataFrame({"amount": list(amounts)}).to_csv(path, index=False)
    return path
