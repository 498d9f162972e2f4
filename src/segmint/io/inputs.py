"""Open the transaction log (one or more sources) as one relation of order lines, ready to clean."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from segmint.db import one_row
from segmint.errors import InputError
from segmint.io import formats
from segmint.io.columns import find_columns
from segmint.io.formats import (
    DateReading,
    NumberReading,
    detect_date_reading,
    detect_number_reading,
)
from segmint.io.sources import Source, open_source, quote, read_error
from segmint.settings import Settings

NUMERIC_ROLES = ("quantity", "unit_price", "amount")
_SAMPLE_ROWS = 20_000


@dataclass
class Lines:
    """The order lines of every input as one relation, with how to read each role."""

    relation: str
    sources: list[Source]
    columns: dict[str, str]
    date_reading: DateReading
    numbers: dict[str, NumberReading] = field(default_factory=dict)
    category_column: str | None = None
    """The column of `relation` giving the category (the products file's, when joined)."""
    products: Source | None = None
    """The --products file, whose view the statements below join to `raw_lines`."""
    statements: list[str] = field(default_factory=list)
    """The DuckDB-dialect statements that made `relation` from `raw_lines` (and the products'
    view): the Spark engine runs them again on its own views."""

    def has(self, role: str) -> bool:
        if role == "category":
            return self.category_column is not None
        return role in self.columns

    @property
    def name(self) -> str:
        return ", ".join(s.name for s in self.sources)


def open_lines(
    con: duckdb.DuckDBPyConnection,
    inputs: Sequence[Any],
    settings: Settings,
    workdir: Path,
    whole_encoding: bool = True,
) -> Lines:
    """Return every input as one relation `lines` with its roles found and its formats detected.

    whole_encoding: see sources.open_source.
    """
    if not inputs:
        raise InputError("no input given: name one or more transaction files")
    sources = [open_source(con, item, workdir, whole_encoding) for item in inputs]
    union = "\nUNION ALL BY NAME\n".join(f"SELECT * FROM {s.view}" for s in sources)
    con.execute(f"CREATE OR REPLACE TEMP VIEW raw_lines AS {union}")
    all_columns = list(dict.fromkeys(c for s in sources for c in s.columns))
    name = ", ".join(s.name for s in sources)
    overrides = dict(settings.columns)
    for role, column in settings.model_columns.items():
        if role not in overrides and column in all_columns:
            overrides[role] = column  # as in the model's run
    try:
        columns = find_columns(all_columns, name, overrides)
    except InputError as exc:
        absent = [f"{role} = {column!r}" for role, column in settings.model_columns.items()
                  if role not in overrides]  # fmt: skip
        if not absent:
            raise
        raise InputError(
            f"{exc}; the model was trained with {', '.join(absent)}, not in this data"
        ) from None
    if "amount" not in columns and "unit_price" not in columns:
        raise InputError(
            f"{name}: no column for the amount, and no unit price to compute it from "
            f"(columns seen: {', '.join(repr(c) for c in all_columns)}); "
            "name one with --column amount=NAME or --column unit_price=NAME"
        )
    relation, category_column = "raw_lines", columns.get("category")
    products, statements = None, []
    if settings.products_file:
        products, statements = _join_products(con, settings, workdir, columns, name)
        for statement in statements:
            con.execute(statement)
        relation, category_column = "lines_with_products", "segmint_category"
    _require_rows(con, sources)
    delimiter = next((s.delimiter for s in sources if s.delimiter), None)
    date_reading = detect_date_reading(
        con,
        relation,
        columns["date"],
        name,
        settings.date_format,
        allow_excel=any(s.kind == "xlsx" for s in sources),
        head_rows=formats.HEAD_ROWS,
    )
    numbers = {
        role: detect_number_reading(_sample(con, relation, columns[role]), delimiter)
        for role in NUMERIC_ROLES
        if role in columns
    }
    return Lines(
        relation, sources, columns, date_reading, numbers, category_column, products, statements
    )


def read_dates_from_whole_column(con: duckdb.DuckDBPyConnection, lines: Lines) -> bool:
    """Detect the date reading again from the whole column; return True when it changed.

    For when a reading detected from the first rows left some dates unread: the format
    may change further down a long log.
    """
    if lines.date_reading.whole_column:
        return False
    reading = detect_date_reading(
        con,
        lines.relation,
        lines.columns["date"],
        lines.name,
        allow_excel=any(s.kind == "xlsx" for s in lines.sources),
    )
    changed = reading.formats != lines.date_reading.formats
    lines.date_reading = reading
    return changed


def _require_rows(con: duckdb.DuckDBPyConnection, sources: list[Source]) -> None:
    for source in sources:
        try:
            has_row = one_row(con.execute(f"SELECT 1 FROM {source.view} LIMIT 1"))
        except duckdb.Error as exc:
            raise InputError(
                f"{source.name}: cannot be read ({read_error(exc)})", file=str(source.name)
            ) from None
        if not has_row:
            raise InputError(f"{source.name}: has a header but no rows")


def _sample(con: duckdb.DuckDBPyConnection, relation: str, column: str) -> list[str]:
    rows = con.execute(
        f"SELECT {quote(column)} FROM {relation} WHERE {quote(column)} IS NOT NULL LIMIT {_SAMPLE_ROWS}"
    ).fetchall()
    return [r[0] for r in rows]


def _join_products(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    workdir: Path,
    columns: dict[str, str],
    name: str,
) -> tuple[Source, list[str]]:
    """Open the products file; return it and the statements creating `lines_with_products`
    (the lines with `segmint_category`: their own category, else their product's)."""
    products = open_source(con, settings.products_file, workdir)
    if "product_id" not in columns:
        raise InputError(
            f"{name}: --products needs a product id column in the transactions "
            "(e.g. ProductID, StockCode, SKU); name it with --column product_id=NAME"
        )
    found = find_columns(
        products.columns,
        products.name,
        roles=("product_id", "category"),
        required=("product_id", "category"),
    )
    product_key = f"trim(p.{quote(found['product_id'])})"
    line_category = f"l.{quote(columns['category'])}" if "category" in columns else "NULL"
    # One category per product: the first in text order, so a repeated id never multiplies lines.
    return products, [
        f"""
        CREATE OR REPLACE TEMP VIEW product_categories AS
        SELECT {product_key} AS product_key, min(nullif(trim(p.{quote(found["category"])}), '')) AS product_category
        FROM {products.view} AS p
        GROUP BY 1
        """,
        f"""
        CREATE OR REPLACE TEMP VIEW lines_with_products AS
        SELECT l.*, coalesce(nullif(trim({line_category}), ''), pc.product_category) AS segmint_category
        FROM raw_lines AS l
        LEFT JOIN product_categories AS pc ON pc.product_key = trim(l.{quote(columns["product_id"])})
        """,
    ]
