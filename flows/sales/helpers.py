"""Plain functions the sales tasks use: their code is part of those tasks' fingerprints."""
import pandas as pd

CURRENCY = "EUR"


def clean_orders(df: pd.DataFrame, min_quantity: int) -> pd.DataFrame:
    """Orders with a usable quantity and price, typed."""
    df = df.copy()
    df["quantity"] = pd.to_numeric(df["quantity"], errors="coerce")
    df = df.dropna(subset=["quantity", "unit_price"])
    df["quantity"] = df["quantity"].astype(int)
    df = df[df["quantity"] >= min_quantity]
    df["revenue"] = df["quantity"] * df["unit_price"]
    df["date"] = pd.to_datetime(df["date"])
    return df.reset_index(drop=True)


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    return (
        df.groupby(["region", "product"], as_index=False)
        .agg(orders=("order_id", "count"), quantity=("quantity", "sum"),
             revenue=("revenue", "sum"))
        .round({"revenue": 2})
    )
