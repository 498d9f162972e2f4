"""Describe each segment by the columns of the --customers file (e.g. Region)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from segmint.io.columns import find_columns
from segmint.io.connection import input_errors
from segmint.io.sources import open_source, quote

# A column is described when it looks categorical: few distinct values, not an identifier.
MAX_LEVELS = 20


def load_customers(con: duckdb.DuckDBPyConnection, path: str, workdir: Path) -> pd.DataFrame:
    """Return the customers file as text, one row per customer id (first row wins), id as
    'customer_id'. DuckDB's errors about the file name it (one `error:` line)."""
    with input_errors([path]):
        return _load_customers(con, path, workdir)


def _load_customers(con: duckdb.DuckDBPyConnection, path: str, workdir: Path) -> pd.DataFrame:
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
    columns = categorical_columns(attributes)
    counts = [
        joined[column].fillna(UNKNOWN).groupby(joined["segment_id"]).value_counts()
        .rename("n").rename_axis(["segment_id", "value"]).reset_index().assign(column=column)
        for column in columns
    ]  # fmt: skip
    return attribute_shares(pd.concat(counts) if counts else None, columns, k)


# The value of a customer missing from the customers file (or with an empty cell).
UNKNOWN = "(unknown)"


def attribute_shares(
    counts: pd.DataFrame | None, columns: list[str], k: int
) -> list[dict[str, dict[str, float]]]:
    """Return, per segment, column → {value: share}, most frequent first (ties by value),
    from counts: one row per segment_id, column and value with its customers `n` (from
    either engine)."""
    result: list[dict[str, dict[str, float]]] = [{} for _ in range(k)]
    if counts is None:
        return result
    for (segment, column), group in counts.groupby(["segment_id", "column"], sort=False):
        total = int(group["n"].sum())
        ordered = sorted(
            zip(group["value"], group["n"], strict=True), key=lambda vn: (-vn[1], vn[0])
        )
        result[int(segment)][column] = {str(v): round(int(n) / total, 6) for v, n in ordered}
    return [{c: entry[c] for c in columns if c in entry} for entry in result]
