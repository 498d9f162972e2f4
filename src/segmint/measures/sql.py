"""The profile's measures as SQL aggregates over a relation of customers (the Spark engine).

The DuckDB engine computes them from the per-customer table in memory
(`traits.segment_moments`, `summary.Group.of`); an engine that keeps customers where they
are (Spark) runs these queries instead. Both feed the same definitions (`traits.traits_from_moments`,
`summary.figures_of`, …). The SQL is DuckDB's dialect: the Spark engine's connection
transpiles it, and the tests run it in DuckDB against the in-memory path.

Money is summed as DECIMAL, so the sums do not depend on how the rows are partitioned.
"""

from __future__ import annotations

from typing import Any

from segmint.db import one_row
from segmint.measures.groups import MEAN_FEATURES, Group
from segmint.measures.moments import PROFILE_FEATURES, Moments

MONEY = "CAST(monetary AS DECIMAL(38, 12))"


def _logged(feature: str) -> str:
    return f"ln(1 + greatest(CAST({feature} AS DOUBLE), 0.0))"


def moments(
    con: Any, relation: str, k: int, columns: list[str]
) -> tuple[dict[str, Moments], list[dict[str, Moments]]]:
    """Return each profile feature's Moments over everyone and per segment (`segment_id`)."""
    features = [f for f in PROFILE_FEATURES if f in columns]
    parts = []
    for f in features:
        parts += [f"count({f})", f"avg(CAST({f} AS DOUBLE))", f"avg({_logged(f)})"]
    base_row = one_row(
        con.execute(
            f"SELECT {', '.join(parts + [f'stddev_pop({_logged(f)})' for f in features])} "
            f"FROM {relation}"
        )
    )
    base = {}
    for i, f in enumerate(features):
        count, mean, log_mean = base_row[3 * i : 3 * i + 3]
        if count:
            base[f] = Moments(int(count), float(mean), float(log_mean),
                              float(base_row[3 * len(features) + i]))  # fmt: skip
    segments: list[dict[str, Moments]] = [{} for _ in range(k)]
    rows = con.execute(
        f"SELECT segment_id, {', '.join(parts)} FROM {relation} GROUP BY segment_id"
    ).fetchall()
    for row in rows:
        for i, f in enumerate(features):
            count, mean, log_mean = row[1 + 3 * i : 4 + 3 * i]
            if count:
                segments[int(row[0])][f] = Moments(int(count), float(mean), float(log_mean))
    return base, segments


def _group_columns() -> str:
    means = ", ".join(f"avg(CAST({f} AS DOUBLE))" for f in MEAN_FEATURES)
    return f"count(*), sum({MONEY}), sum(frequency), {means}"


def _group(row: tuple) -> Group:
    count, revenue, orders, *means = row
    return Group(
        int(count),
        float(revenue or 0),
        int(orders or 0),
        {
            f: float("nan") if m is None else float(m)
            for f, m in zip(MEAN_FEATURES, means, strict=True)
        },
    )


def groups(con: Any, relation: str, k: int) -> tuple[Group, list[Group]]:
    """Return the Group of everyone and of each segment (an empty one where none is in it)."""
    everyone = _group(one_row(con.execute(f"SELECT {_group_columns()} FROM {relation}")))
    empty = Group(0, 0.0, 0, {f: float("nan") for f in MEAN_FEATURES})
    per_segment = [empty] * k
    for row in con.execute(
        f"SELECT segment_id, {_group_columns()} FROM {relation} GROUP BY segment_id"
    ).fetchall():
        per_segment[int(row[0])] = _group(row[1:])
    return everyone, per_segment


def rfm_groups(con: Any, relation: str) -> dict[str, tuple[int, float]]:
    """Return RFM segment name → (customers, revenue)."""
    rows = con.execute(
        f"SELECT rfm_segment, count(*), sum({MONEY}) FROM {relation} GROUP BY rfm_segment"
    ).fetchall()
    return {name: (int(n), float(revenue or 0)) for name, n, revenue in rows}


def top_revenue(con: Any, relation: str, n: int) -> float:
    """Return the revenue of the n customers who spent the most."""
    row = one_row(
        con.execute(
            f"SELECT sum({MONEY}) FROM "
            f"(SELECT monetary FROM {relation} ORDER BY monetary DESC LIMIT {int(n)})"
        )
    )
    return float(row[0] or 0)


def clv_figures(
    con: Any,
    relation: str,
    k: int,
    p_alive: str,
    p_no_order: str,
    clv: str,
    likely_lost_below: float,
) -> tuple[dict, list[dict]]:
    """Return the CLV figures (as `clv.per_customer.segment_clv`) of everyone and per segment."""
    known = f"{clv} BETWEEN -1e300 AND 1e300"  # finite: NULL and NaN are left out
    columns = (
        f"avg({p_alive}), avg({p_no_order}), sum(CASE WHEN {known} THEN {clv} END), "
        f"count(CASE WHEN {known} THEN 1 END), count(CASE WHEN {p_alive} < {likely_lost_below!r} "
        "THEN 1 END)"
    )

    def figures(row: tuple) -> dict:
        alive, silent, total, count, lost = row
        return {
            "p_alive_mean": float(alive) if alive is not None else 0.0,
            "p_no_order_mean": float(silent) if silent is not None else 0.0,
            "clv_mean": float(total) / count if count else None,
            "clv_total": float(total or 0.0),
            "likely_lost": int(lost),
        }

    everyone = figures(one_row(con.execute(f"SELECT {columns} FROM {relation}")))
    per_segment = [figures((None, None, None, 0, 0)) for _ in range(k)]
    for row in con.execute(
        f"SELECT segment_id, {columns} FROM {relation} GROUP BY segment_id"
    ).fetchall():
        per_segment[int(row[0])] = figures(row[1:])
    return everyone, per_segment
