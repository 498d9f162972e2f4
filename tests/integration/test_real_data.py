"""The shared real datasets: Segmint against an independent pandas reading of the
cleaning rules and features (docs/reference/cleaning.md, docs/reference/features.md).

The reference below reads every file as text, parses it itself, applies the cleaning rules in
their documented order, and computes recency, frequency and monetary with exact decimals.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd
import pytest

import segmint
from helpers import DROP_REASONS, SHARED_DATA

DATA = SHARED_DATA
pytestmark = pytest.mark.shared_data
NULL_MARKERS = {"", "NA", "N/A", "NULL", "null", "NaN", "None", "-"}
REASONS = DROP_REASONS


@dataclass(frozen=True)
class Dataset:
    file: str
    customer_id: str
    date: str
    date_format: str
    order_id: str | None = None
    quantity: str | None = None
    unit_price: str | None = None
    amount: str | None = None
    products: str | None = None


CDNOW = Dataset(
    "cdnow_sample.csv", "customer_id", "date", "%Y%m%d", None, "quantity", None, "amount"
)
RETAIL = Dataset(
    "online_retail_sample.csv",
    "CustomerID",
    "InvoiceDate",
    "%Y-%m-%d %H:%M:%S",
    "InvoiceNo",
    "Quantity",
    "UnitPrice",
)
ZEOTAP = Dataset(
    "zeotap/Transactions.csv",
    "CustomerID",
    "TransactionDate",
    "%Y-%m-%d %H:%M:%S",
    "TransactionID",
    "Quantity",
    "Price",
    "TotalValue",
    products="zeotap/Products.csv",
)


def number(text: pd.Series) -> pd.Series:
    return pd.to_numeric(text.str.strip(), errors="coerce").astype(float)


def not_finite(values: pd.Series) -> pd.Series:
    return values.isna() | ~values.apply(math.isfinite) | (values.abs() > 1e15)


def reference(ds: Dataset, as_of: dt.date | None, keep_duplicates: bool):
    """Return (rows_read, rows_used, rows_dropped, as_of, customers frame) by the docs' rules."""
    raw = pd.read_csv(DATA / ds.file, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    n = len(raw)
    reason = pd.Series([None] * n, index=raw.index, dtype=object)

    def drop(mask: pd.Series, name: str) -> None:
        reason[mask & reason.isna()] = name

    customer = raw[ds.customer_id].str.strip()
    drop(customer.isin(NULL_MARKERS), "missing_customer_id")
    ts = pd.to_datetime(raw[ds.date].str.strip(), format=ds.date_format, errors="coerce")
    drop(ts.isna(), "bad_date")
    if not keep_duplicates:
        alive = reason.isna()
        duplicated = raw[alive].duplicated(keep="first").reindex(raw.index, fill_value=False)
        drop(duplicated, "duplicate")
    invalid = pd.Series(False, index=raw.index)
    if ds.quantity:
        qty = number(raw[ds.quantity])
        invalid |= not_finite(qty) | (qty == 0)
    if ds.unit_price:
        price = number(raw[ds.unit_price])
        invalid |= not_finite(price) | (price <= 0)
    if ds.amount:
        invalid |= not_finite(number(raw[ds.amount]))
    drop(invalid, "invalid_amount")
    if as_of is not None:
        drop(ts.dt.date > as_of, "after_as_of")

    is_return = pd.Series(False, index=raw.index)
    if ds.quantity:
        is_return |= number(raw[ds.quantity]) < 0
    if ds.amount:
        is_return |= number(raw[ds.amount]) < 0
    if ds.order_id:
        is_return |= raw[ds.order_id].str.strip().str.startswith("C")
    kept = reason.isna()
    buyers = set(customer[kept & ~is_return])
    drop(kept & ~customer.isin(buyers), "returns_only")
    kept = reason.isna()

    lines = pd.DataFrame({"customer_id": customer, "ts": ts, "is_return": is_return})[kept]

    def line_amount(i: int) -> Decimal:
        if ds.amount:
            value = abs(Decimal(raw.at[i, ds.amount].strip()))
        else:
            value = abs(
                Decimal(raw.at[i, ds.quantity].strip()) * Decimal(raw.at[i, ds.unit_price].strip())
            )
        return -value if is_return[i] else value

    lines["amount"] = [line_amount(i) for i in lines.index]
    lines["order_key"] = (
        raw.loc[lines.index, ds.order_id].str.strip() if ds.order_id else lines["ts"].astype(str)
    )
    run_as_of = as_of or lines["ts"].max().date()
    orders = lines[~lines["is_return"]].groupby(["customer_id", "order_key"])["ts"].min().dt.date
    per_customer = orders.groupby(level="customer_id").agg(["count", "max"])
    monetary = lines.groupby("customer_id")["amount"].sum()
    expected = pd.DataFrame(
        {
            "customer_id": per_customer.index,
            "recency_days": [(run_as_of - d).days for d in per_customer["max"]],
            "frequency": per_customer["count"].to_numpy(),
            "monetary": [float(monetary[c]) for c in per_customer.index],
        }
    )
    counts = {r: int((reason == r).sum()) for r in REASONS}
    return n, int(kept.sum()), counts, run_as_of, expected.sort_values("customer_id")


CASES = [
    pytest.param(CDNOW, None, False, id="cdnow"),
    pytest.param(CDNOW, "1997-09-30", False, id="cdnow-as-of"),
    pytest.param(CDNOW, None, True, id="cdnow-keep-duplicates"),
    pytest.param(RETAIL, None, False, id="online-retail"),
    pytest.param(RETAIL, "2011-06-30", False, id="online-retail-as-of"),
    pytest.param(ZEOTAP, None, False, id="zeotap"),
    pytest.param(ZEOTAP, "2024-06-30", False, id="zeotap-as-of"),
]


@pytest.mark.parametrize(("ds", "as_of", "keep_duplicates"), CASES)
def test_matches_an_independent_pandas_reading(
    ds: Dataset, as_of: str | None, keep_duplicates: bool
) -> None:
    settings = {"k": 3, "n_init": 2, "keep_duplicates": keep_duplicates}
    if as_of:
        settings["as_of"] = as_of
    if ds.products:
        settings["products_file"] = str(DATA / ds.products)
    result = segmint.segment(DATA / ds.file, **settings)
    rows_read, rows_used, dropped, run_as_of, expected = reference(
        ds, dt.date.fromisoformat(as_of) if as_of else None, keep_duplicates
    )

    summary = result.summary["input"]
    assert summary["rows_read"] == rows_read
    assert summary["rows_used"] == rows_used
    assert {r: summary["rows_dropped"].get(r, 0) for r in REASONS} == dropped
    assert summary["as_of"] == run_as_of.isoformat()

    got = result.customers.sort_values("customer_id").reset_index(drop=True)
    expected = expected.reset_index(drop=True)
    assert list(got["customer_id"]) == list(expected["customer_id"])
    assert list(got["recency_days"]) == list(expected["recency_days"])
    assert list(got["frequency"]) == list(expected["frequency"])
    diff = (got["monetary"] - expected["monetary"]).abs()
    assert diff.max() <= 1e-6, got.loc[diff.idxmax(), "customer_id"]
