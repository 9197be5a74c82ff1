"""A small monthly pipeline for the Prefect-native checks: external prices, raw sales per
month, cleaned per month with a threshold, one report over the months."""
import luisy


@luisy.project_name("native")
@luisy.raw
@luisy.csv_output
class Prices(luisy.ExternalTask):
    """Delivered from outside: luisy never writes it."""


@luisy.project_name("native")
@luisy.raw
class RawSales(luisy.Task):
    month = luisy.MonthParameter()

    def run(self):
        self.write({"month": str(self.month)[:7], "quantities": [0, 1, 2, 3]})


@luisy.project_name("native")
@luisy.interim
class CleanSales(luisy.Task):
    month = luisy.MonthParameter()
    min_quantity = luisy.IntParameter(default=1)

    def requires(self):
        return {"sales": RawSales(month=self.month), "prices": Prices()}

    def run(self):
        sales = self.input()["sales"].read()
        self.write([q for q in sales["quantities"] if q >= self.min_quantity])


@luisy.project_name("native")
@luisy.final
class MonthlyReport(luisy.Task):
    months = luisy.ListParameter()
    min_quantity = luisy.IntParameter(default=1)

    def requires(self):
        return [CleanSales(month=m, min_quantity=self.min_quantity) for m in self.months]

    def run(self):
        self.write({str(t.month)[:7]: len(t.output().read()) for t in self.requires()})
