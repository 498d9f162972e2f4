"""Apply the cleaning rules (docs/reference/cleaning.md#rules) and count every dropped row by
reason."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from segmint.db import one_row
from segmint.errors import InputError
from segmint.features.sql import render
from segmint.io.formats import trimmed
from segmint.io.inputs import Lines, read_dates_from_whole_column
from segmint.io.sources import quote
from segmint.settings import Settings

DROP_REASONS = (
    "missing_customer_id",
    "bad_date",
    "duplicate",
    "invalid_amount",
    "after_as_of",
    "returns_only",
)
_NULL_TEXT = "CAST(NULL AS VARCHAR)"
_NULL_NUMBER = "CAST(NULL AS DOUBLE)"


@dataclass(frozen=True)
class CleanLines:
    """The outcome of cleaning: `clean_lines` exists in the connection; counts describe it."""

    rows_read: int
    rows_used: int
    rows_dropped: dict[str, int]
    as_of: dt.date
    period_start: dt.datetime
    period_end: dt.datetime


def clean(con: duckdb.DuckDBPyConnection, lines: Lines, settings: Settings) -> CleanLines:
    """Create `classified_lines` and `clean_orders` from `lines`; return what was kept and dropped.

    The raw lines are read once (into `classified_lines`, one row per distinct line with its
    drop reason); everything after reads the kept lines once more, grouped into orders.
    """
    con.execute(f"CREATE OR REPLACE TEMP TABLE classified_lines AS {cleaning_sql(lines, settings)}")
    counts, kept = _count_drops(con)
    if counts["bad_date"] and read_dates_from_whole_column(con, lines):
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE classified_lines AS {cleaning_sql(lines, settings)}"
        )
        counts, kept = _count_drops(con)
    # Every raw row is either dropped by a rule or kept once (its extra copies are duplicates).
    rows_read = sum(counts.values()) + kept
    _check_dates(counts, rows_read, lines)
    # The kept lines of one customer, order key and kind (order or return), summed: every
    # feature is computed from this table and from the customer × category spend.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE order_lines AS
        SELECT customer_id, order_key, is_return,
               min(ts) AS first_ts, max(ts) AS last_ts,
               sum(line_amount) AS amount, sum(units) AS units, count(*) AS lines
        FROM classified_lines
        WHERE drop_reason IS NULL
        GROUP BY customer_id, order_key, is_return
        """
    )
    # A customer with no order left (only returns) is not segmented.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE returns_only_customers AS
        SELECT customer_id, sum(lines) AS lines FROM order_lines
        GROUP BY customer_id HAVING bool_and(is_return)
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP VIEW clean_orders AS
        SELECT o.* FROM order_lines AS o ANTI JOIN returns_only_customers USING (customer_id)
        """
    )
    counts["returns_only"] = _count(con, "returns_only_customers", "lines")
    rows_used = kept - counts["returns_only"]
    dropped = {reason: counts.get(reason, 0) for reason in DROP_REASONS}
    if rows_used == 0:
        raise InputError(f"{lines.name}: no line is left after cleaning ({_describe(dropped)})")
    start, end = one_row(con.execute("SELECT min(first_ts), max(last_ts) FROM clean_orders"))
    as_of = settings.as_of or end.date()
    return CleanLines(rows_read, rows_used, dropped, as_of, start, end)


def release_lines(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the line-level tables once the customer features are built (their memory is freed)."""
    con.execute("DROP VIEW IF EXISTS clean_orders")
    for table in ("order_lines", "returns_only_customers", "classified_lines"):
        con.execute(f"DROP TABLE IF EXISTS {table}")


def cleaning_sql(lines: Lines, settings: Settings) -> str:
    """Return the cleaning query over `lines`, one row per distinct line, with its drop reason."""
    columns = lines.columns

    def text(role: str) -> str:
        return trimmed(quote(columns[role])) if role in columns else _NULL_TEXT

    def number(role: str) -> str:
        return lines.numbers[role].sql(quote(columns[role])) if role in columns else _NULL_NUMBER

    if settings.keep_duplicates:
        source = f"(SELECT *, 1 AS copies FROM {lines.relation})"
    else:
        source = f"(SELECT *, count(*) AS copies FROM {lines.relation} GROUP BY ALL)"
    as_of = f"DATE '{settings.as_of.isoformat()}'" if settings.as_of else "CAST(NULL AS DATE)"
    category = trimmed(quote(lines.category_column)) if lines.category_column else _NULL_TEXT
    return render(
        "clean",
        lines=source,
        customer_id=text("customer_id"),
        timestamp=lines.date_reading.sql(trimmed(quote(columns["date"]))),
        order_id=text("order_id"),
        quantity=number("quantity"),
        unit_price=number("unit_price"),
        amount=number("amount"),
        category=category,
        has_quantity=_bool(lines.has("quantity")),
        has_unit_price=_bool(lines.has("unit_price")),
        has_amount=_bool(lines.has("amount")),
        as_of=as_of,
    )


def _bool(flag: bool) -> str:
    return "TRUE" if flag else "FALSE"


def _count(con: duckdb.DuckDBPyConnection, relation: str, weight: str = "1") -> int:
    return int(one_row(con.execute(f"SELECT coalesce(sum({weight}), 0) FROM {relation}"))[0])


def _count_drops(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, int], int]:
    """Return rows dropped per reason and the distinct lines kept, in one scan.

    An exact duplicate's extra copies count as `duplicate`, unless an earlier rule drops the line.
    """
    row = one_row(
        con.execute(
            """
        SELECT
            coalesce(sum(copies) FILTER (WHERE drop_reason = 'missing_customer_id'), 0),
            coalesce(sum(copies) FILTER (WHERE drop_reason = 'bad_date'), 0),
            coalesce(sum(copies - 1) FILTER (WHERE drop_reason IS NULL
                OR drop_reason IN ('invalid_amount', 'after_as_of')), 0),
            count(*) FILTER (WHERE drop_reason = 'invalid_amount'),
            count(*) FILTER (WHERE drop_reason = 'after_as_of'),
            count(*) FILTER (WHERE drop_reason IS NULL)
        FROM classified_lines
        """
        )
    )
    reasons = ("missing_customer_id", "bad_date", "duplicate", "invalid_amount", "after_as_of")
    counts = {reason: int(n) for reason, n in zip(reasons, row[:-1], strict=True)}
    return counts, int(row[-1])


def _check_dates(counts: dict[str, int], rows_read: int, lines: Lines) -> None:
    reaching = rows_read - counts["missing_customer_id"]
    if reaching and counts["bad_date"] * 2 > reaching:
        raise InputError(
            f"{lines.name}: column {lines.columns['date']!r}: {counts['bad_date']:,} of "
            f"{reaching:,} dates cannot be read as {lines.date_reading.describe()}; "
            "is it the right column? Name it with --column date=NAME or give --date-format",
            file=lines.name,
            column=lines.columns["date"],
        )


def _describe(dropped: dict[str, int]) -> str:
    parts = [f"{reason}: {n:,}" for reason, n in dropped.items() if n]
    return "dropped " + ", ".join(parts) if parts else "the input has no usable line"
