"""The sales pipeline as a Prefect flow: deployment entrypoint ``flows/sales/flow.py:sales_report``.

Run it once locally with ``python -m flows.sales.flow``.
"""
import luisy
from flows.sales.tasks import SalesReport

sales_report = luisy.flow(SalesReport)

if __name__ == "__main__":
    sales_report(working_dir="data")
