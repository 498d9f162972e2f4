"""Describe each segment by the columns of the --customers file (e.g. Region)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from segmint.io.columns import find_columns
from segmint.io.sources import open_source, quote

# A column is described when it looks categorical: few distinct values, not an identifier.
MAX_LEVELS = 20


def load_customers(con: duckdb.DuckDBPyConnection, path: str, workdir: Path) -> pd.DataFrame:
    """Return the customers file as text, one row per customer id (first row wins), id as 'customer_id'."""
    source = open_source(con, path, workdir)
    found = find_columns(
        source.columns, source.name, roles=("customer_id",), required=("customer_id",)
    )
    key = quote(found["customer_id"])
    others = [c for c in source.columns if c != found["customer_id"]]
    picked = ", ".join(f"first({quote(c)} ORDER BY {quote(c)}) AS {quote(c)}" for c in others)
    select = f"trim({key}) AS customer_id" + (f", {picked}" if picked else "")
    return con.execute(
        f"SELECT {select} FROM {source.view} WHERE trim({key}) <> '' GROUP BY 1 ORDER BY 1"
    ).df()


def categorical_columns(frame: pd.DataFrame) -> list[str]:
    """Return the columns worth describing per segment: 2..MAX_LEVELS values, repeated values."""
    chosen = []
    for column in frame.columns:
        if column == "customer_id":
            continue
        values = frame[column].dropna()
        n = values.nunique()
        if 2 <= n <= MAX_LEVELS and n < len(values):
            chosen.append(column)
    return chosen


def describe_attributes(
    customers: pd.DataFrame, labels: np.ndarray, attributes: pd.DataFrame, k: int
) -> list[dict[str, dict[str, float]]]:
    """Return, per segment, column → {value: share of the segment's customers}."""
    joined = (
        customers[["customer_id"]]
        .assign(segment_id=labels)
        .merge(attributes, on="customer_id", how="left")
    )
    result: list[dict[str, dict[str, float]]] = [{} for _ in range(k)]
    for column in categorical_columns(attributes):
        filled = joined[column].fillna("(unknown)")
        for segment in range(k):
            values = filled[joined["segment_id"] == segment]
            counts = values.value_counts()
            ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            result[segment][column] = {str(v): round(n / len(values), 6) for v, n in ordered}
    return result
