"""Open every supported input as a DuckDB view whose columns are all text.

Reading everything as text keeps identifiers exactly as written (``00042`` stays
``00042``) and lets one set of parsing rules (dates, numbers) apply to every format.
"""

from __future__ import annotations

import csv
import itertools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from segmint.errors import InputError
from segmint.io import text

_counter = itertools.count()

DUCKDB_PREFIX = "duckdb:"


@dataclass(frozen=True)
class Source:
    """One opened input: its name for messages, the view holding it, and its columns."""

    name: str
    view: str
    columns: tuple[str, ...]
    kind: str  # csv, parquet, xlsx, duckdb, frame
    delimiter: str | None = None
    encoding: str = "utf-8"
    """Of a delimited file: utf-8, utf-8-sig, cp1252 or utf-16 (DuckDB reads a UTF-8 copy)."""
    whitespace_aligned: bool = False


def quote(identifier: str) -> str:
    """Return identifier quoted for DuckDB SQL."""
    return '"' + identifier.replace('"', '""') + '"'


def literal(value: str) -> str:
    """Return value as a DuckDB string literal."""
    return "'" + value.replace("'", "''") + "'"


def open_source(
    con: duckdb.DuckDBPyConnection, source: Any, workdir: Path, whole_encoding: bool = True
) -> Source:
    """Return the source (path, ``duckdb:PATH::TABLE``, DataFrame or Arrow table) as a text view.

    whole_encoding=False checks only the head of a text file for UTF-8 (text.HEAD_BYTES):
    for a caller that opens it again with True when DuckDB finds the rest is not UTF-8.
    """
    view = f"src_{next(_counter)}"
    if isinstance(source, (str, os.PathLike)):
        spec = os.fspath(source)
        if spec.startswith(DUCKDB_PREFIX):
            return _open_duckdb_table(con, spec, view)
        return _open_file(con, Path(spec), view, workdir, whole_encoding)
    return _open_frame(con, source, view)


def _text_view(
    con: duckdb.DuckDBPyConnection, view: str, select_from: str, name: str
) -> tuple[str, ...]:
    """Create view as every column of select_from cast to text; return the column names."""
    try:
        columns = con.sql(f"SELECT * FROM {select_from} LIMIT 0").columns
    except duckdb.Error as exc:
        if text.NOT_UTF8 in str(exc):
            raise  # only the head was checked: the caller checks the whole file (pipeline)
        raise InputError(f"{name}: cannot be read ({read_error(exc)})", file=str(name)) from None
    if not columns:
        raise InputError(f"{name}: has no columns")
    casts = ", ".join(f"CAST({quote(c)} AS VARCHAR) AS {quote(c)}" for c in columns)
    con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT {casts} FROM {select_from}")
    return tuple(columns)


def _open_file(
    con: duckdb.DuckDBPyConnection, path: Path, view: str, workdir: Path, whole_encoding: bool
) -> Source:
    name = str(path)
    if not path.exists():
        raise InputError(f"{name}: no such file")
    if path.is_dir():
        raise InputError(f"{name}: is a directory, not a file")
    try:
        with open(path, "rb") as handle:
            magic = handle.read(8)
    except OSError as exc:
        raise InputError(f"{name}: cannot be read ({exc.strerror})", file=str(name)) from None
    if not magic:
        raise InputError(f"{name}: the file is empty")
    if magic.startswith(b"PAR1"):
        columns = _text_view(con, view, f"read_parquet({literal(name)})", name)
        return Source(name, view, columns, "parquet")
    if magic.startswith(b"PK\x03\x04"):
        return _open_excel(con, path, view)
    compressed = magic.startswith(b"\x1f\x8b")
    return _open_delimited(con, path, view, workdir, compressed, whole_encoding)


def _open_delimited(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    view: str,
    workdir: Path,
    compressed: bool,
    whole_encoding: bool,
) -> Source:
    name = str(path)
    _reject_binary(path, compressed)
    head = None if whole_encoding else text.HEAD_BYTES
    encoding = text.detect_encoding(path, compressed, head)
    lines = text.first_lines(path, compressed, encoding)
    if not lines:
        raise InputError(f"{name}: the file is empty")
    whitespace = text.is_whitespace_aligned(lines)
    rewritten = workdir / f"{view}.csv"
    readable = path
    if whitespace or encoding in ("cp1252", "utf-16") or text.mixed_line_endings(path, compressed):
        readable = text.rewrite_as_utf8(path, compressed, encoding, rewritten, whitespace)
    columns, delimiter = _delimited_view(con, readable, view, name, lines, whitespace)
    return Source(name, view, columns, "csv", delimiter, encoding, whitespace)


def _delimited_view(
    con: duckdb.DuckDBPyConnection,
    readable: Path,
    view: str,
    name: str,
    lines: list[str],
    whitespace: bool,
) -> tuple[tuple[str, ...], str | None]:
    """Create the view over a UTF-8 delimited file; return its columns and delimiter."""
    sniffed = _sniffed_reader(con, readable, whitespace)
    if sniffed is not None:
        reader, delimiter = sniffed
    else:  # let read_csv report what the sniffer could not read
        reader = f"read_csv({literal(str(readable))}, all_varchar = true"
        reader += ", delim = '\\t'" if whitespace else ""
        delimiter = "\t" if whitespace else None
    try:
        columns = _text_view(con, view, reader + ")", name)
    except InputError as exc:
        failed: InputError | None = exc
        columns = ()
    else:
        failed = None
    if len(columns) <= 1 and not whitespace:
        # No dialect found (an error, or every line read as one column) although the first
        # lines split alike on a delimiter: DuckDB's sniffer gives up on a line with fewer
        # fields, such as the last line of an export cut short. Read the file with that
        # delimiter and the header's names, so that such a line is named when it is met
        # (io.connection.input_errors), as it is where the sniffer did not see it.
        explicit = _header_reader(readable, lines)
        if explicit is not None:
            reader, delimiter = explicit
            columns = _text_view(con, view, reader + ")", name)
            failed = None
    if failed is not None:
        raise failed
    return columns, delimiter


def _header_reader(path: Path, lines: list[str]) -> tuple[str, str] | None:
    """Return a read_csv call (without its closing parenthesis) with the delimiter of the
    first lines and the header's names, and that delimiter; None when they do not say."""
    found = text.header_delimiter(lines)
    if found is None:
        return None
    try:
        header = next(csv.reader(lines[:1], delimiter=found))
    except csv.Error:
        return None
    if not all(header) or len(set(header)) != len(header):
        return None
    names = ", ".join(f"{literal(c.lstrip(chr(0xFEFF)))}: 'VARCHAR'" for c in header)
    reader = (
        f"read_csv({literal(str(path))}, delim = {literal(found)}, quote = '\"', escape = '\"', "
        f"header = true, auto_detect = false, columns = {{{names}}}"
    )
    return reader, found


def _sniffed_reader(
    con: duckdb.DuckDBPyConnection, path: Path, tab_separated: bool
) -> tuple[str, str] | None:
    """Return a read_csv call (without its closing parenthesis) spelling out the dialect
    DuckDB's sniffer finds, every column as text, and its delimiter; None when it finds none.

    A read_csv left to detect the dialect sniffs the file again in every query on it (50 ms
    a query on a 724 MB file, 18 ms on a small one); spelled out, as DuckDB's own `Prompt`
    does, it is sniffed once.
    """
    tab = ", delim = '\\t'" if tab_separated else ""
    try:
        rows = con.execute(
            "SELECT Delimiter, Quote, Escape, NewLineDelimiter, Comment, SkipRows, HasHeader, "
            f"Columns FROM sniff_csv({literal(str(path))}, all_varchar = true{tab})"
        ).fetchall()
    except duckdb.Error:
        return None
    if not rows:
        return None
    delimiter, quote_char, escape, new_line, comment, skip, header, columns = (
        "" if value == "(empty)" else value for value in rows[0]
    )
    names = ", ".join(f"{literal(c['name'])}: 'VARCHAR'" for c in columns)
    reader = (
        f"read_csv({literal(str(path))}, auto_detect = false, delim = {literal(delimiter)}, "
        f"quote = {literal(quote_char)}, escape = {literal(escape)}, "
        f"new_line = {literal(new_line)}, skip = {int(skip)}, comment = {literal(comment)}, "
        f"header = {str(bool(header)).lower()}, columns = {{{names}}}, all_varchar = true"
    )
    return reader, delimiter


def _reject_binary(path: Path, compressed: bool) -> None:
    try:
        with text.open_binary(path, compressed) as handle:
            head = handle.read(4096)
    except text.READ_ERRORS as exc:
        raise InputError(f"{path}: cannot be read ({exc})", file=str(path)) from None
    utf16 = head[:2] in (b"\xff\xfe", b"\xfe\xff")
    if not utf16 and (b"\x00" in head or _control_share(head) > 0.1):
        raise InputError(
            f"{path}: is not a text table (binary content); "
            "give a CSV, TSV, Parquet, Excel .xlsx file or duckdb:PATH::TABLE"
        )


def _control_share(data: bytes) -> float:
    control = sum(1 for b in data if b < 32 and b not in (9, 10, 13))
    return control / max(len(data), 1)


def _open_excel(con: duckdb.DuckDBPyConnection, path: Path, view: str) -> Source:
    import pandas as pd
    import pyarrow as pa

    name = str(path)
    try:
        frame = pd.read_excel(
            path, engine="openpyxl", dtype=str, keep_default_na=False, na_values=[]
        )
    except Exception as exc:  # openpyxl raises many types for a damaged workbook
        raise InputError(
            f"{name}: cannot be read as an Excel workbook ({_first_line(exc)})"
        ) from None
    frame.columns = [str(c) for c in frame.columns]
    table = pa.Table.from_pandas(frame.astype(str), preserve_index=False)
    con.register(f"{view}_arrow", table)
    columns = _text_view(con, view, f"{view}_arrow", name)
    return Source(name, view, columns, "xlsx")


def _open_duckdb_table(con: duckdb.DuckDBPyConnection, spec: str, view: str) -> Source:
    location, sep, table = spec[len(DUCKDB_PREFIX) :].rpartition("::")
    if not sep or not location or not table:
        raise InputError(f"{spec}: write a DuckDB table as duckdb:PATH::TABLE")
    if not Path(location).is_file():
        raise InputError(f"{spec}: no such DuckDB database file {location!r}")
    alias = f"{view}_db"
    try:
        con.execute(f"ATTACH {literal(location)} AS {alias} (READ_ONLY)")
    except duckdb.Error as exc:
        raise InputError(f"{spec}: cannot open the DuckDB database ({_first_line(exc)})") from None
    columns = _text_view(con, view, f"{alias}.{quote(table)}", spec)
    return Source(spec, view, columns, "duckdb")


def _open_frame(con: duckdb.DuckDBPyConnection, frame: Any, view: str) -> Source:
    import pyarrow as pa

    if isinstance(frame, pa.Table):
        table = frame
    elif hasattr(frame, "to_arrow"):  # polars
        table = frame.to_arrow()
    else:
        try:
            table = pa.Table.from_pandas(frame, preserve_index=False)
        except (TypeError, ValueError, AttributeError):
            raise InputError(
                f"cannot read a {type(frame).__name__}: give a path, a pandas or polars "
                "DataFrame, or an Arrow table"
            ) from None
    table = _integral_floats_as_ints(table.rename_columns([str(c) for c in table.column_names]))
    con.register(f"{view}_arrow", table)
    name = f"<{type(frame).__name__}>"
    columns = _text_view(con, view, f"{view}_arrow", name)
    return Source(name, view, columns, "frame")


def _integral_floats_as_ints(table: Any) -> Any:
    """Return table with whole-number float columns as integers.

    pandas turns an integer id column with a gap into floats (17850 → 17850.0); the user
    wrote 17850, so that is the text Segmint keeps.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    for i, column in enumerate(table.columns):
        if not pa.types.is_floating(column.type):
            continue
        valid = pc.drop_null(column)
        whole = (
            len(valid) > 0
            and pc.all(pc.is_finite(valid)).as_py()
            and pc.all(pc.equal(pc.floor(valid), valid)).as_py()
            and pc.max(pc.abs(valid)).as_py() < 2**53
        )
        if whole:
            table = table.set_column(i, table.field(i).name, pc.cast(column, pa.int64()))
    return table


def _first_line(exc: BaseException) -> str:
    message = str(exc).strip().splitlines()
    return message[0] if message else type(exc).__name__


# DuckDB's message for a CSV line with another number of fields than the header.
_WRONG_WIDTH = re.compile(
    r"CSV Error on Line: (\d+).*?Expected Number of Columns: (\d+) Found: (\d+)", re.S
)


def read_error(exc: BaseException) -> str:
    """Return what went wrong in reading a file, in one line, from DuckDB's error."""
    wrong = _WRONG_WIDTH.search(str(exc))
    if wrong is None:
        return _first_line(exc)
    line, expected, found = wrong.groups()
    return (
        f"line {int(line):,} has {found} fields where the header has {expected}; "
        "is the file cut short, or a value not quoted?"
    )
