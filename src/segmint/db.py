"""Reading results of SQL statements, alike on DuckDB and on the Spark engine's connection."""

from __future__ import annotations

from typing import Any


def one_row(result: Any) -> tuple | None:
    """Return the first row of a statement's result (None when it has none).

    The result is read whole: DuckDB 2.0 keeps a result open after ``fetchone()``, and a
    later ``con.sql()`` or ``con.register()`` on the same connection then fails with
    "unfinished result". Use it for statements of one row (aggregates, ``LIMIT 1``).
    """
    rows = result.fetchall()
    return tuple(rows[0]) if rows else None
