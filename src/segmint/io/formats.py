"""Detect how dates and numbers are written, and return the SQL that parses them.

Detection looks at the data once and picks one reading for the whole column; the
cleaning SQL then applies it to every row. A date that parses to a year outside
1900–2100 is not a date (``%Y`` happily reads ``2/20/11`` as the year 11).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb

from segmint.db import one_row
from segmint.errors import InputError

PLAUSIBLE_FROM = "1900-01-01"
_DETECTION_VALUES = 10_000
_DATE_VALUES = "segmint_date_values"  # the distinct values detection reads
# Detection first reads this many rows from the start; the whole column only when they leave
# the reading ambiguous or unknown, or when the chosen reading leaves dates unread.
HEAD_ROWS = 100_000
PLAUSIBLE_TO = "2100-12-31"

_TIMES = (" %H:%M:%S", " %H:%M", " %I:%M:%S %p", " %I:%M %p", "")
# Two-digit years first: "%y" never reads a four-digit year, "%Y" would read "11" as 0011.
_YEARS = ("%y", "%Y")
# The first year a two-digit year reads as: 69 → 1969, 68 → 2068.
Y2_PIVOT = 1969


def trimmed(value: str) -> str:
    """Return SQL for trim(value) that copies the text only when it has a space to remove.

    Same value as trim() (spaces only, in DuckDB and Spark SQL alike); trimming every value
    allocated a new string per row, 3x the cost of parsing a 19-character date.
    """
    return f"CASE WHEN starts_with({value}, ' ') OR ends_with({value}, ' ') THEN trim({value}) ELSE {value} END"


def _family(*patterns: str) -> tuple[str, ...]:
    return tuple(p.replace("Y", y[1]) + t for p in patterns for y in _YEARS for t in _TIMES)


ISO = "ISO 8601"
EXCEL_SERIAL = "Excel serial day number"
DATE_FAMILIES: dict[str, tuple[str, ...]] = {
    "iso": (ISO, "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y%m%d%H%M%S", "%Y%m%d"),
    "month_first": _family("%m/%d/%Y", "%m-%d-%Y"),
    "day_first": _family("%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y"),
    "excel": (EXCEL_SERIAL,),
}


@dataclass(frozen=True)
class DateReading:
    """How a date column is read: the formats tried in order, and the SQL doing it."""

    formats: tuple[str, ...]
    whole_column: bool = True
    """False when detected from the first HEAD_ROWS rows only."""

    def sql(self, value: str) -> str:
        """Return a SQL expression turning text `value` into a TIMESTAMP, or NULL."""
        return _parse_any(value, self.formats)

    def describe(self) -> str:
        return " or ".join(self.formats)


def _parse_one(value: str, fmt: str) -> str:
    if fmt == ISO:
        return f"TRY_CAST({value} AS TIMESTAMP)"
    if fmt == EXCEL_SERIAL:
        # Excel's day 0 is 1899-12-30 (it counts a 29 February 1900 that never was). A number
        # too large for the microseconds (e.g. a compact 20101201083000) is no serial day.
        return (
            f"(TIMESTAMP '1899-12-30' + to_microseconds("
            f"TRY_CAST(round(TRY_CAST({value} AS DOUBLE) * 86400000000) AS BIGINT)))"
        )
    parsed = f"try_strptime({value}, '{fmt}')"
    if "%y" in fmt:
        # Two-digit years are 1969-2068 (DuckDB's and POSIX's pivot). Said here rather than
        # left to the engine: Spark's `yy` reads 2000-2099, so "85" would be 2085 there.
        return (
            f"CASE WHEN year({parsed}) >= {Y2_PIVOT + 100} "
            f"THEN {parsed} - INTERVAL 100 YEAR ELSE {parsed} END"
        )
    return parsed


def _plausible(expr: str) -> str:
    return (
        f"CASE WHEN {expr} BETWEEN TIMESTAMP '{PLAUSIBLE_FROM}' "
        f"AND TIMESTAMP '{PLAUSIBLE_TO} 23:59:59' THEN {expr} END"
    )


def _parse_any(value: str, formats: tuple[str, ...]) -> str:
    parts = [_plausible(_parse_one(value, f)) for f in formats]
    return parts[0] if len(parts) == 1 else f"COALESCE({', '.join(parts)})"


def detect_date_reading(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    column: str,
    source: str,
    date_format: str | None = None,
    allow_excel: bool = False,
    head_rows: int | None = None,
) -> DateReading:
    """Return how to read `column` of `relation` as dates; raise InputError when no reading fits or two disagree.

    With head_rows (e.g. HEAD_ROWS), the first head_rows rows decide when they are enough
    (the reading then says whole_column=False); otherwise the whole column does.
    """
    if date_format:
        return DateReading((date_format,))
    quoted = '"' + column.replace('"', '""') + '"'
    whole = head_rows is None
    if not whole:
        rows = con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {relation} LIMIT {head_rows + 1})")
        whole = one_row(rows)[0] <= head_rows
    head = relation if whole else f"(SELECT {quoted} FROM {relation} LIMIT {head_rows})"
    try:
        formats = _detect(con, head, quoted, column, source, allow_excel)
    except InputError:
        if whole:
            raise
        return detect_date_reading(con, relation, column, source, None, allow_excel, None)
    return DateReading(formats, whole)


def _detect(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    quoted: str,
    column: str,
    source: str,
    allow_excel: bool,
) -> tuple[str, ...]:
    # Detection reads at most _DETECTION_VALUES distinct values (most frequent first, then a
    # deterministic pseudo-random order, never alphabetical: that would see only days 01-12), enough
    # to see a day above 12 or a four-digit year, at a bounded cost on huge logs.
    # Kept in a table: read twice below, and over the whole column when the head is not enough.
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_DATE_VALUES} AS "
        f"SELECT trim({quoted}) AS v, count(*) AS n FROM {relation} "
        f"WHERE trim({quoted}) <> '' GROUP BY 1 ORDER BY n DESC, hash(v), v LIMIT {_DETECTION_VALUES}"
    )
    try:
        # Most exports write ISO 8601. When its formats read every value, the full count
        # would choose them too: ISO comes first among equal counts, and no ISO date (a year
        # 1900-2100 first, or digits only) reads month- or day-first, so there is no
        # ambiguity. The other ~50 formats are then not parsed (0.3 s on 10,000 values).
        iso = _count_readings(con, _DATE_VALUES, {"iso": DATE_FAMILIES["iso"]})
        if iso.total and iso.per_family["iso"] == iso.total:
            return iso.used("iso")
        families = {k: v for k, v in DATE_FAMILIES.items() if allow_excel or k != "excel"}
        counts = _count_readings(con, _DATE_VALUES, families)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {_DATE_VALUES}")
    if not counts.total:
        raise InputError(f"{source}: column {column!r} holds no dates (every value is blank)")
    best = max(counts.per_family.values())
    if not best:
        raise InputError(
            f"{source}: column {column!r}: no value reads as a date (e.g. {counts.first_value!r}); "
            "give the format with --date-format, e.g. --date-format '%d/%m/%Y %H:%M'"
        )
    month_first, day_first = counts.per_family["month_first"], counts.per_family["day_first"]
    if counts.disagreeing and month_first == day_first == best:
        raise InputError(
            f"{source}: column {column!r}: dates such as {counts.disagreeing!r} read both as "
            "month-first and as day-first; say which with --date-format '%m/%d/%Y' "
            "or --date-format '%d/%m/%Y' (add ' %H:%M' for times)"
        )
    chosen = next(fam for fam, n in counts.per_family.items() if n == best)
    return counts.used(chosen)


@dataclass(frozen=True)
class _Readings:
    """How many of the values (weighted by their rows) each date format and family reads."""

    per_format: dict[tuple[str, str], int]
    per_family: dict[str, int]
    disagreeing: str | None  # a value read differently month-first and day-first
    total: int
    first_value: str | None

    def used(self, family: str) -> tuple[str, ...]:
        """The family's formats that read at least one value, in order."""
        return tuple(fmt for (fam, fmt), n in self.per_format.items() if fam == family and n)


def _count_readings(
    con: duckdb.DuckDBPyConnection, values: str, families: dict[str, tuple[str, ...]]
) -> _Readings:
    formats = [(fam, fmt) for fam, fmts in families.items() for fmt in fmts]
    # Parse every distinct value once per format (p0, p1, …); the counts below only combine them.
    parsed = ", ".join(
        f"{_plausible(_parse_one('v', fmt))} AS p{i}" for i, (_, fmt) in enumerate(formats)
    )

    def family_value(family: str) -> str:
        columns = [f"p{i}" for i, (fam, _) in enumerate(formats) if fam == family]
        return columns[0] if len(columns) == 1 else f"coalesce({', '.join(columns)})"

    counts = ", ".join(f"sum(n) FILTER (p{i} IS NOT NULL)" for i in range(len(formats)))
    family_counts = ", ".join(f"sum(n) FILTER ({family_value(f)} IS NOT NULL)" for f in families)
    disagreeing = "NULL"
    if "month_first" in families and "day_first" in families:
        differs = f"{family_value('month_first')} <> {family_value('day_first')}"
        disagreeing = f"min(v) FILTER ({differs})"
    # MATERIALIZED: otherwise DuckDB may inline each p_i into every aggregate that uses it.
    row = one_row(
        con.execute(
            f"WITH parsed AS MATERIALIZED (SELECT v, n, {parsed} FROM {values}) "
            f"SELECT {counts}, {family_counts}, {disagreeing}, coalesce(sum(n), 0), min(v) "
            "FROM parsed"
        )
    )
    numbers = [0 if v is None else int(v) for v in row[: len(formats) + len(families)]]
    return _Readings(
        per_format=dict(zip(formats, numbers[: len(formats)], strict=True)),
        per_family=dict(zip(families, numbers[len(formats) :], strict=True)),
        disagreeing=row[-3],
        total=int(row[-2]),
        first_value=row[-1],
    )


# Numbers ---------------------------------------------------------------------------------

_PLAIN = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(nan|inf|infinity)$", re.I)
_COMMA_DECIMAL = re.compile(r"^[+-]?\d{1,3}(\.\d{3})*,\d+$|^[+-]?\d+,\d+$")
_NOT_THOUSANDS = re.compile(r",(\d{1,2}|\d{4,})$")
_DOT_THOUSANDS = r"^[+-]?\d{1,3}(\.\d{3})+(,\d*)?$"
_COMMA_THOUSANDS = r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$"
_SYMBOLS = re.compile(r"[£$€¥\s]")


@dataclass(frozen=True)
class NumberReading:
    """How a numeric column is written: decimal comma or point, and stray symbols."""

    decimal_comma: bool = False
    strip_symbols: bool = False

    def sql(self, value: str) -> str:
        """Return a SQL expression turning text `value` into a DOUBLE (NaN and ±inf kept), or NULL."""
        text = trimmed(value)
        if self.strip_symbols:
            text = f"regexp_replace({text}, '[£$€¥[:space:]]', '', 'g')"
        if self.decimal_comma:
            # Dots are thousands separators only in groups of three (1.234,5; 1.234); a
            # value such as 2.50 in the same column has a decimal point, not 250.
            grouped = f"replace(replace({text}, '.', ''), ',', '.')"
            return (
                f"CASE WHEN regexp_matches({text}, '{_DOT_THOUSANDS}') "
                f"THEN TRY_CAST({grouped} AS DOUBLE) "
                f"ELSE TRY_CAST(replace({text}, ',', '.') AS DOUBLE) END"
            )
        # A value that casts as it is has no comma or symbol to remove, and the cast
        # ignores surrounding spaces: the same number, without copying the text. Commas
        # are thousands separators only in groups of three (1,234.5); 1,5 is not 15.
        return (
            f"coalesce(TRY_CAST({value} AS DOUBLE), "
            f"CASE WHEN NOT contains({text}, ',') OR regexp_matches({text}, '{_COMMA_THOUSANDS}') "
            f"THEN TRY_CAST(replace({text}, ',', '') AS DOUBLE) END)"
        )


def detect_number_reading(values: list[str], delimiter: str | None) -> NumberReading:
    """Return how the sample `values` of one column write numbers."""
    values = [v.strip() for v in values if v is not None and v.strip()]
    strip = any(_SYMBOLS.search(v) for v in values)
    cleaned = [_SYMBOLS.sub("", v) for v in values] if strip else values
    if all(_PLAIN.match(v) for v in cleaned):
        return NumberReading(False, strip)
    comma_values = [v for v in cleaned if _COMMA_DECIMAL.match(v)]
    decimal_comma = bool(comma_values) and (
        delimiter == ";" or any(_NOT_THOUSANDS.search(v) for v in comma_values)
    )
    return NumberReading(decimal_comma, strip)
