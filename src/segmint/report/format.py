"""How the report writes numbers: one place, so the HTML and the Markdown agree digit for digit."""

from __future__ import annotations

import math

MISSING = "–"


def money(x: float | None) -> str:
    """Return an amount with thousands separators and cents: 12,345.67."""
    return MISSING if _missing(x) else f"{x:,.2f}"


def whole(x: float | None) -> str:
    """Return a count or a number of days, rounded, with thousands separators."""
    return MISSING if _missing(x) else f"{x:,.0f}"


def one(x: float | None) -> str:
    """Return a number with one decimal: 3.4."""
    return MISSING if _missing(x) else f"{x:,.1f}"


def pct(x: float | None) -> str:
    """Return a share as a percentage with one decimal: 12.3%."""
    return MISSING if _missing(x) else f"{x:.1%}"


def score(x: float | None, digits: int = 3) -> str:
    """Return a quality score (Davies-Bouldin, silhouette, ...)."""
    return MISSING if _missing(x) else f"{x:,.{digits}f}"


def seconds(x: float) -> str:
    return f"{x:.2f} s"


def _missing(x: float | None) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def file_name(path: str) -> str:
    """Return the last part of a path ("duckdb:shop.db::orders" keeps its table)."""
    return path.replace("\\", "/").rsplit("/", 1)[-1]
