"""The classic RFM segment map (docs/reference/rfm.md#map) as data: (R score, FM score) → name."""

from __future__ import annotations

# Rows: R score 5..1; columns: FM score 1..5, FM = floor((f_score + m_score) / 2 + 0.5).
_GRID: dict[int, tuple[str, str, str, str, str]] = {
    5: ("New Customers", "Potential Loyalists", "Potential Loyalists", "Champions", "Champions"),
    4: ("Promising", "Potential Loyalists", "Potential Loyalists", "Loyal Customers", "Champions"),
    3: ("About to Sleep", "About to Sleep", "Need Attention", "Loyal Customers", "Loyal Customers"),
    2: ("Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"),
    1: ("Lost", "Lost", "At Risk", "At Risk", "Can't Lose Them"),
}

RFM_MAP: dict[tuple[int, int], str] = {
    (r, fm): name for r, names in _GRID.items() for fm, name in enumerate(names, start=1)
}

RFM_SEGMENT_NAMES: tuple[str, ...] = tuple(dict.fromkeys(RFM_MAP.values()))


def fm_score(f_score: int, m_score: int) -> int:
    """Return the combined frequency-monetary score of the map's columns."""
    return int((f_score + m_score) / 2 + 0.5)


def rfm_segment(r_score: int, f_score: int, m_score: int) -> str:
    """Return the classic RFM segment name of one customer's three scores."""
    return RFM_MAP[(r_score, fm_score(f_score, m_score))]


def rfm_map_values_sql() -> str:
    """Return the map as the rows of a SQL VALUES list."""
    return ",\n        ".join(
        f"({r}, {fm}, '{name.replace(chr(39), chr(39) * 2)}')"
        for (r, fm), name in sorted(RFM_MAP.items())
    )
