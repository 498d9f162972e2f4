"""What a run would make of its inputs, before it runs: the columns, the role each plays,
the first rows, how dates are read, and the cleaning that will apply (docs/reference/input.md,
docs/reference/cleaning.md).

The web app's mapping page shows this so that a user can check, and change, the column of
each role before running; the overrides it sends back are `--column role=NAME`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from segmint.errors import InputError
from segmint.features.clean import DROP_REASONS, clean
from segmint.io.connection import connect, input_errors
from segmint.io.inputs import Lines, open_lines
from segmint.io.sources import quote
from segmint.settings import ROLES, Settings

PREVIEW_ROWS = 10
NULL_MARKERS = ("NA", "N/A", "NULL", "null", "NaN", "None", "-")


@dataclass
class Inspection:
    """The detected roles of a transaction log's columns, a preview and the cleaning rules."""

    columns: list[str]
    """Every column of the inputs, in order of appearance."""
    roles: dict[str, str]
    """Role → column, as a run would use them (empty when detection failed)."""
    preview: list[list[str | None]]
    """The first rows of the inputs, as text, one value per column of `columns`."""
    error: str | None = None
    """The message a run would stop with (columns ambiguous or missing, dates unreadable…)."""
    date_format: str | None = None
    cleaning: list[str] = field(default_factory=list)
    """The cleaning rules that will apply, in words, naming this file's columns."""
    rows_read: int | None = None
    rows_dropped: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"roles_known": list(ROLES), **asdict(self)}


def inspect_inputs(
    inputs: Sequence[Any], preview_rows: int = PREVIEW_ROWS, **settings: Any
) -> Inspection:
    """Return what a run with these settings would detect in inputs and drop from them.

    A file that cannot be opened at all raises its InputError, as a run would. An error in
    finding the roles, reading the dates or cleaning is returned in `error` with the columns
    and the preview, so that the user can choose other columns.
    """
    config = Settings.create(**settings)
    inputs = list(inputs)
    with (
        tempfile.TemporaryDirectory(prefix="segmint-") as workdir,
        connect(config, Path(workdir)) as con,
        input_errors(inputs),
    ):
        lines, error = None, None
        try:
            lines = open_lines(con, inputs, config, Path(workdir))
        except InputError as exc:
            if not _has_view(con, "raw_lines"):
                raise  # the files themselves cannot be read
            error = str(exc)
        columns = list(con.sql("SELECT * FROM raw_lines LIMIT 0").columns)
        select = ", ".join(quote(c) for c in columns)
        preview = [
            list(row)
            for row in con.execute(
                f"SELECT {select} FROM raw_lines LIMIT {int(preview_rows)}"
            ).fetchall()
        ]
        inspection = Inspection(columns, {}, preview, error)
        if lines is not None:
            _add_cleaning(inspection, con, lines, config)
        return inspection


def _has_view(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    try:
        con.execute(f"SELECT * FROM {name} LIMIT 0")
    except duckdb.Error:
        return False
    return True


def _add_cleaning(
    inspection: Inspection, con: duckdb.DuckDBPyConnection, lines: Lines, config: Settings
) -> None:
    inspection.roles = dict(lines.columns)
    inspection.date_format = lines.date_reading.describe()
    inspection.cleaning = cleaning_rules(lines, config)
    try:
        cleaned = clean(con, lines, config)
    except InputError as exc:
        inspection.error = str(exc)
        return
    inspection.rows_read = cleaned.rows_read
    inspection.rows_dropped = {r: cleaned.rows_dropped.get(r, 0) for r in DROP_REASONS}


def cleaning_rules(lines: Lines, config: Settings) -> list[str]:
    """Return the cleaning rules (docs/reference/cleaning.md#rules) in words, as they apply to
    these columns, in their order."""
    roles = lines.columns
    customer, date = roles["customer_id"], roles["date"]
    rules = [
        f"A row whose customer id ({customer!r}) is empty or a null marker "
        f"({', '.join(NULL_MARKERS)}) is dropped; ids are kept as written (00042 stays 00042).",
        f"Dates in {date!r} are read as {lines.date_reading.describe()}; a row whose date "
        "cannot be read is dropped, and over half unreadable stops the run.",
        "Exact duplicate rows are kept (keep duplicates is on)."
        if config.keep_duplicates
        else "Exact duplicate rows are dropped (a log without an order id may want them kept).",
    ]
    rules.append(f"Line amount: {_amount_rule(roles)}.")
    rules.append(
        "A row with zero quantity, a unit price of 0 or less, or an unreadable or "
        "non-finite amount is dropped."
    )
    if config.as_of:
        rules.append(f"Rows after {config.as_of.isoformat()} are dropped.")
    signs = [f"a negative {roles[r]!r}" for r in ("quantity", "amount") if r in roles]
    if "order_id" in roles:
        signs.append(f"an order id ({roles['order_id']!r}) starting with C")
    if signs:
        rules.append(
            f"A line with {' or '.join(signs)} is a return: it subtracts from spend and counts "
            "in the return rate, but is not an order; a customer with only returns is left out."
        )
    rules.append(
        f"An order is the lines with one {roles['order_id']!r}."
        if "order_id" in roles
        else "An order is the lines of one customer with the same timestamp (no order id column)."
    )
    if config.products_file:
        rules.append("Categories come from the products file, joined on the product id.")
    return rules


def _amount_rule(roles: dict[str, str]) -> str:
    if "amount" in roles:
        return f"{roles['amount']!r}"
    if "quantity" in roles:
        return f"{roles['quantity']!r} × {roles['unit_price']!r}"
    return f"{roles['unit_price']!r} (no quantity column: one unit per line)"
